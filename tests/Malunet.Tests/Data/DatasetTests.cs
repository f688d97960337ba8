using Malunet.Data;

namespace Malunet.Tests.Data;

public class DatasetTests : TempFolderTest
{

    [Fact]
    public void Isic2017_layout_pairs_all_2170_images_by_id()
    {
        var scan = DatasetScanner.Scan(SharedData.Isic2017);
        Assert.Equal("isic2017", scan.Layout);
        Assert.Empty(scan.Problems);
        Assert.Equal(2000, scan.InSubset("train").Count());
        Assert.Equal(150, scan.InSubset("val").Count());
        Assert.Equal(20, scan.InSubset("test").Count());
        foreach (var s in scan.Samples)
            Assert.Equal($"{s.Id}_segmentation.png", Path.GetFileName(s.MaskPath));
    }

    [Fact]
    public void Python_compatible_split_reproduces_the_papers_split_file()
    {
        var scan = DatasetScanner.Scan(SharedData.Isic2017);
        var file = DataSplit.Load(Path.Combine(SharedData.Isic2017, "splits", "malunet_7to3_seed42.json"));
        // The paper cuts 2150 shuffled ids at 1500 (not int(0.7·2150) = 1505).
        var made = DataSplit.Make(scan.InSubset("train", "val").Select(s => s.Id), 1500, 42);
        Assert.Equal(1500, made.Train.Count);
        Assert.Equal(650, made.Test.Count);
        Assert.Equal(file.Train, made.Train);
        Assert.Equal(file.Test, made.Test);
    }

    [Fact]
    public void Python_random_matches_known_cpython_values()
    {
        // CPython 3: random.Random(42).getrandbits(32) == 2746317213; random.Random(0).random() == 0.8444218515250481
        Assert.Equal(2746317213u, new PythonRandom(42).GetRandBits(32));
        Assert.Equal(0.8444218515250481, new PythonRandom(0).NextDouble());
        var l = Enumerable.Range(0, 10).ToList();
        new PythonRandom(1).Shuffle(l);
        Assert.Equal(new[] { 6, 8, 9, 7, 5, 3, 0, 4, 1, 2 }, l); // random.Random(1).shuffle(list(range(10)))
    }

    [Fact]
    public void Validation_hold_out_is_deterministic_and_disjoint()
    {
        var file = DataSplit.Load(Path.Combine(SharedData.Isic2017, "splits", "malunet_7to3_seed42.json"));
        var a = file.WithValidation(0.1, 42);
        var b = file.WithValidation(0.1, 42);
        Assert.Equal(150, a.Val.Count);
        Assert.Equal(1350, a.Train.Count);
        Assert.Equal(a.Val, b.Val);
        Assert.Empty(a.Val.Intersect(a.Train));
        Assert.Empty(a.Val.Intersect(a.Test));
        Assert.Equal(file.Test, a.Test);
    }

    private void Touch(string rel, byte[]? content = null)
    {
        var p = Path.Combine(dir, rel);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllBytes(p, content ?? new byte[] { 1 });
    }

    [Fact]
    public void Unpaired_files_are_reported_by_name_and_order_does_not_matter()
    {
        // Listing order differs between images and masks; ids decide.
        Touch("images/b.jpg"); Touch("images/a.jpg"); Touch("images/c.png");
        Touch("masks/a_segmentation.png"); Touch("masks/b_mask.png"); Touch("masks/z_segmentation.png");
        var scan = DatasetScanner.Scan(dir);
        Assert.Equal("plain", scan.Layout);
        Assert.Equal(Path.Combine(dir, "masks", "a_segmentation.png"), scan.Samples.Single(s => s.Id == "a").MaskPath);
        Assert.Equal(Path.Combine(dir, "masks", "b_mask.png"), scan.Samples.Single(s => s.Id == "b").MaskPath);
        Assert.Contains(scan.Problems, p => p.Path.EndsWith("c.png") && p.Problem.Contains("without a mask"));
        Assert.Contains(scan.Problems, p => p.Path.EndsWith("z_segmentation.png") && p.Problem.Contains("without an image"));
    }

    [Fact]
    public void Official_malunet_and_isic2018_layouts_are_recognised()
    {
        Touch("m/train/images/x1.jpg"); Touch("m/train/masks/x1.png"); Touch("m/val/images/x2.jpg"); Touch("m/val/masks/x2.png");
        var m = DatasetScanner.Scan(Path.Combine(dir, "m"));
        Assert.Equal("malunet", m.Layout);
        Assert.Equal(new[] { "train", "val" }, m.Samples.Select(s => s.Subset).ToArray());

        Touch("i/ISIC2018_Task1-2_Training_Input/ISIC_1.jpg"); Touch("i/ISIC2018_Task1_Training_GroundTruth/ISIC_1_segmentation.png");
        var i = DatasetScanner.Scan(Path.Combine(dir, "i"));
        Assert.Equal("isic2018", i.Layout);
        Assert.Empty(i.Problems);
    }

    [Fact]
    public void Unknown_layout_and_missing_folder_are_clear_errors()
    {
        Assert.Contains("no known dataset layout", Assert.Throws<InvalidDataException>(() => DatasetScanner.Scan(dir)).Message);
        Assert.Throws<DirectoryNotFoundException>(() => DatasetScanner.Scan(Path.Combine(dir, "nope")));
    }
}

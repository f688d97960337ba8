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
        var file = DataSplit.Load(SharedData.PaperSplit("isic2017"));
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
        var file = DataSplit.Load(SharedData.PaperSplit("isic2017"));
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

/// <summary>The layouts of issue #10, as they unpack, built from generated images.</summary>
public class DatasetLayoutTests : TempFolderTest
{
    private string P(params string[] parts) => Path.Combine(new[] { dir }.Concat(parts).ToArray());

    [Fact]
    public void Ph2_case_folders_pair_each_image_with_its_lesion_mask_and_ignore_roi()
    {
        LayoutFixtures.Ph2(dir, 3);
        foreach (var given in new[] { dir, P("PH2Dataset"), P("PH2Dataset", "PH2 Dataset images") })
        {
            var scan = DatasetScanner.Scan(given);
            Assert.Equal("ph2", scan.Layout);
            Assert.Empty(scan.Problems);
            Assert.False(scan.HasParts);
            Assert.Equal(new[] { "IMD002", "IMD003", "IMD004" }, scan.Samples.Select(s => s.Id));
            foreach (var s in scan.Samples)
            {
                Assert.Equal(P("PH2Dataset", "PH2 Dataset images", s.Id, $"{s.Id}_Dermoscopic_Image", $"{s.Id}.bmp"), s.ImagePath);
                Assert.Equal(P("PH2Dataset", "PH2 Dataset images", s.Id, $"{s.Id}_lesion", $"{s.Id}_lesion.bmp"), s.MaskPath);
            }
        }
    }

    [Fact]
    public void Isic2016_pairs_capital_S_segmentations_in_training_and_test()
    {
        LayoutFixtures.WritePair(P("u", "ISBI2016_ISIC_Part1_Training_Data", "ISIC_0000000.jpg"), P("u", "ISBI2016_ISIC_Part1_Training_GroundTruth", "ISIC_0000000_Segmentation.png"), 1);
        LayoutFixtures.WritePair(P("u", "ISBI2016_ISIC_Part1_Training_Data", "ISIC_0000001.jpg"), P("u", "ISBI2016_ISIC_Part1_Training_GroundTruth", "ISIC_0000001_Segmentation.png"), 2);
        LayoutFixtures.WritePair(P("u", "ISBI2016_ISIC_Part1_Test_Data", "ISIC_0000003.jpg"), P("u", "ISBI2016_ISIC_Part1_Test_GroundTruth", "ISIC_0000003_Segmentation.png"), 3);
        var scan = DatasetScanner.Scan(dir);
        Assert.Equal("isic2016", scan.Layout);
        Assert.Empty(scan.Problems);
        Assert.Equal(new[] { "ISIC_0000000", "ISIC_0000001" }, scan.InSubset("train").Select(s => s.Id));
        Assert.Equal("ISIC_0000003_Segmentation.png", Path.GetFileName(scan.InSubset("test").Single().MaskPath));
    }

    [Fact]
    public void Ham10000_pairs_both_image_parts_with_the_tschandl_masks()
    {
        LayoutFixtures.WritePair(P("HAM10000_images_part_1", "ISIC_0024306.jpg"), P("HAM10000_segmentations_lesion_tschandl", "ISIC_0024306_segmentation.png"), 1);
        LayoutFixtures.WritePair(P("HAM10000_images_part_2", "ISIC_0029306.jpg"), P("HAM10000_segmentations_lesion_tschandl", "ISIC_0029306_segmentation.png"), 2);
        var scan = DatasetScanner.Scan(dir);
        Assert.Equal("ham10000", scan.Layout);
        Assert.Empty(scan.Problems);
        Assert.Equal(new[] { "ISIC_0024306", "ISIC_0029306" }, scan.Samples.Select(s => s.Id));
        Assert.All(scan.Samples, s => Assert.Equal($"{s.Id}_segmentation.png", Path.GetFileName(s.MaskPath)));
    }

    [Theory]
    [InlineData("_segmentation", ".png")]
    [InlineData("_Segmentation", ".png")]
    [InlineData("_lesion", ".bmp")]
    [InlineData("_mask", ".png")]
    [InlineData("_gt", ".png")]
    [InlineData("", ".jpg")]
    public void Plain_folders_pair_every_common_mask_name(string suffix, string ext)
    {
        LayoutFixtures.WritePair(P("data", "images", "case1.jpg"), P("data", "masks", $"case1{suffix}{ext}"), 1);
        LayoutFixtures.WritePair(P("data", "images", "case2.png"), P("data", "masks", $"case2{suffix}{ext}"), 2);
        var scan = DatasetScanner.Scan(dir);
        Assert.Equal("plain", scan.Layout);
        Assert.Empty(scan.Problems);
        Assert.Equal(new[] { P("data", "masks", $"case1{suffix}{ext}"), P("data", "masks", $"case2{suffix}{ext}") }, scan.Samples.Select(s => s.MaskPath));
    }

    [Fact]
    public void Mask_suffix_names_any_other_and_two_candidates_are_an_error_naming_both()
    {
        LayoutFixtures.WritePair(P("images", "a.jpg"), P("masks", "a-annotation.png"), 1);
        Assert.Contains(DatasetScanner.Scan(dir).Problems, p => p.Problem.Contains("without a mask"));
        Assert.Equal(P("masks", "a-annotation.png"), DatasetScanner.Scan(dir, "-annotation").Samples.Single().MaskPath);

        LayoutFixtures.WritePair(P("images", "b.jpg"), P("masks", "b_mask.png"), 2);
        LayoutFixtures.Write(new Image8(4, 4, 1, new byte[16]), P("masks", "b.png"));
        var e = Assert.Throws<InvalidDataException>(() => DatasetScanner.Scan(dir));
        Assert.Contains(P("masks", "b_mask.png"), e.Message);
        Assert.Contains(P("masks", "b.png"), e.Message);
        Assert.StartsWith(P("images", "b.jpg"), e.Message);
    }
}

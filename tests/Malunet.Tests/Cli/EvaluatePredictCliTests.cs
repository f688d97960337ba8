using System.Text.Json.Nodes;
using Malunet.Data;
using Malunet.Tests.Data;

namespace Malunet.Tests.Cli;

public class EvaluatePredictCliTests : TempFolderTest
{

    private static string Weights => SharedData.Fixture("weights_init.pth");

    [Fact]
    public void Evaluate_on_the_20_official_test_images_reports_pooled_and_per_image_metrics()
    {
        var outDir = Path.Combine(dir, "eval");
        var r = CliRunner.Run("evaluate", "--weights", Weights, "--data", SharedData.Isic2017, "--subset", "test", "--json", "--out", outDir);
        Assert.True(r.ExitCode == 0, r.Stderr);
        var j = JsonNode.Parse(r.Stdout)!;
        Assert.Equal(20, j["images"]!.GetValue<int>());
        long tp = j["tp"]!.GetValue<long>(), fp = j["fp"]!.GetValue<long>(), fn = j["fn"]!.GetValue<long>(), tn = j["tn"]!.GetValue<long>();
        Assert.Equal(20L * 256 * 256, tp + fp + fn + tn);
        // The engine.py formulas on the pooled counts.
        Assert.Equal((double)tp / (tp + fp + fn), j["miou"]!.GetValue<double>(), 12);
        Assert.Equal(2.0 * tp / (2 * tp + fp + fn), j["dsc"]!.GetValue<double>(), 12);
        Assert.Equal((double)(tp + tn) / (tp + fp + fn + tn), j["acc"]!.GetValue<double>(), 12);
        var csv = File.ReadAllLines(Path.Combine(outDir, "per_image.csv"));
        Assert.Equal(21, csv.Length);
        // Original resolution: the ISIC masks are full size (e.g. 1022x767 and larger), not 256.
        Assert.Contains(csv.Skip(1), l => int.Parse(l.Split(',')[1]) > 256);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "summary.json")))!;
        Assert.Equal(20, summary["per_image_original"]!["dice"]!["n"]!.GetValue<int>());
        Assert.Equal(10, summary["worst"]!.AsArray().Count);
    }

    [Fact]
    public void Evaluate_warns_when_the_weights_have_seen_images_in_training()
    {
        // Five ISIC 2018 test images: three were ISIC 2017 training images, two were not.
        var isic2018 = SharedData.Dataset("isic2018");
        var paper = DataSplit.Load(SharedData.PaperSplit("isic2018"));
        var seenBy2017 = Malunet.Evaluation.TrainingImages.Of(null, "isic2017")!;
        var five = paper.Test.Where(seenBy2017.Contains).Take(3).Concat(paper.Test.Where(id => !seenBy2017.Contains(id)).Take(2)).ToList();
        var split = Path.Combine(dir, "five.json");
        new DataSplit(paper.Train, [], five, "five ISIC 2018 test images").Save(split);

        var with2017 = CliRunner.Run("evaluate", "--trained-on", "isic2017", "--data", isic2018, "--split", split, "--no-original-resolution", "--json");
        Assert.True(with2017.ExitCode == 0, with2017.Stderr);
        Assert.Contains("warning: 3 of the 5 images are in the training data of these weights (the training part of the ISIC 2017 paper split", with2017.Stderr);
        var with2018 = CliRunner.Run("evaluate", "--trained-on", "isic2018", "--data", isic2018, "--split", split, "--no-original-resolution", "--json");
        Assert.True(with2018.ExitCode == 0, with2018.Stderr);
        Assert.DoesNotContain("training data of these weights", with2018.Stderr);
        // Images of their own training part, on purpose: said too.
        var ownSplit = Path.Combine(dir, "own.json");
        new DataSplit(paper.Train.Skip(3).ToList(), [], paper.Train.Take(3).ToList(), "three ISIC 2018 training images").Save(ownSplit);
        var own = CliRunner.Run("evaluate", "--trained-on", "isic2018", "--data", isic2018, "--split", ownSplit, "--no-original-resolution", "--json");
        Assert.True(own.ExitCode == 0, own.Stderr);
        Assert.Contains("warning: 3 of the 3 images are in the training data of these weights (the training part of the ISIC 2018 paper split", own.Stderr);
    }

    [Fact]
    public void Predict_writes_masks_at_original_size_for_full_resolution_images_and_a_summary()
    {
        var outDir = Path.Combine(dir, "pred");
        var images = Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images");
        var r = CliRunner.Run("predict", "--weights", Weights, "--input", images, "--output", outDir, "--save-probabilities", "--tta");
        Assert.True(r.ExitCode == 0, r.Stderr);
        foreach (var f in Directory.GetFiles(images, "*.jpg"))
        {
            var id = Path.GetFileNameWithoutExtension(f);
            var (w, h) = ImageDecoder.ReadSize(f);
            foreach (var file in new[] { "mask.png", "prob.png", "overlay.jpg" })
                Assert.Equal((w, h), ImageDecoder.ReadSize(Path.Combine(outDir, $"{id}_{file}")));
            var mask = ImageDecoder.DecodeGray(Path.Combine(outDir, $"{id}_mask.png"));
            Assert.All(mask.Pixels.Distinct(), v => Assert.True(v == 0 || v == 255));
        }
        var lines = File.ReadAllLines(Path.Combine(outDir, "summary.csv"));
        Assert.Equal("file,id,width,height,lesion_pixels,lesion_fraction", lines[0]);
        Assert.Equal(Directory.GetFiles(images, "*.jpg").Length + 1, lines.Length);
        Assert.Contains(lines, l => l.Contains(",3008,2000,"));
    }

    [Fact]
    public void Predict_honours_exif_rotation_and_reports_a_corrupt_file_but_writes_the_rest()
    {
        var input = Path.Combine(dir, "in");
        Directory.CreateDirectory(input);
        var rotated = Path.Combine(input, "rotated.jpg");
        ImageDecoder.SaveJpeg(ImageDecoderTests.Asymmetric(), rotated, 95);
        File.WriteAllBytes(rotated, ImageDecoderTests.WithExifOrientation(File.ReadAllBytes(rotated), 6));
        File.WriteAllText(Path.Combine(input, "broken.jpg"), "not a jpeg");
        var outDir = Path.Combine(dir, "out");
        var r = CliRunner.Run("predict", "--weights", Weights, "--input", input, "--output", outDir);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("broken.jpg", r.Stderr);
        Assert.Equal((20, 40), ImageDecoder.ReadSize(Path.Combine(outDir, "rotated_mask.png"))); // displayed size, not stored
        Assert.False(File.Exists(Path.Combine(outDir, "broken_mask.png")));
        Assert.Equal(2, File.ReadAllLines(Path.Combine(outDir, "summary.csv")).Length);
    }

    [Fact]
    public void Evaluate_with_bad_arguments_fails_clearly()
    {
        var r = CliRunner.Run("evaluate", "--weights", Weights, "--data", SharedData.Isic2017, "--subset", "everything");
        Assert.Equal(2, r.ExitCode);
        var m = CliRunner.Run("evaluate", "--weights", Path.Combine(dir, "none.pth"), "--data", SharedData.Isic2017);
        Assert.Equal(1, m.ExitCode);
        Assert.Contains("none.pth", m.Stderr);
    }
}

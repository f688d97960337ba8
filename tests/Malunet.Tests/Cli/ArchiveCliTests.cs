using Malunet.Training;
using System.Text.Json.Nodes;
using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Inference;
using Malunet.Models;
using Malunet.Tests.Data;
using static TorchSharp.torch;

namespace Malunet.Tests.Cli;

/// <summary>
/// Archives (issue #10): evaluate streams with the results of the in-memory evaluation, shards merge into exactly
/// one run, and layouts as they unpack are evaluated without renaming.
/// </summary>
public class ArchiveCliTests : TempFolderTest
{
    private static string Weights => SharedData.Fixture("weights_init.pth");
    private static string OfficialTest => SharedData.Isic2017;

    [Fact]
    public void Streaming_evaluation_gives_the_counts_and_losses_of_the_in_memory_evaluation()
    {
        var model = ModelCheckpoint.Load(BundledWeights.Find()!);
        var samples = DatasetScanner.Scan(OfficialTest).InSubset("test").ToList();
        var cached = ImageCache.Load(samples, 256, null, out var problems);
        Assert.Empty(problems);
        var before = Evaluator.Run(model, cached, CPU, 8, 0.5);

        var loss = new Malunet.Training.BceDiceLoss();
        var (after, found) = DatasetEvaluation.Run(new TorchEngine(model, CPU), samples, 256, 8, 0.5, false, (y, t) => loss.Compute(y, t).item<float>());
        Assert.Empty(found);
        var pooled = Assert.IsType<ConfusionMetrics>(before.Metrics);
        Assert.Equal((pooled.TP, pooled.FP, pooled.FN, pooled.TN, 20),
                     (after.Metrics.TP, after.Metrics.FP, after.Metrics.FN, after.Metrics.TN, after.Metrics.Images));
        Assert.Equal(before.MeanLoss, after.MeanLoss, 12);
        Assert.Equal(samples.Select(s => s.Id).Order(StringComparer.Ordinal), after.Rows.Select(r => r.Id));
    }

    [Fact]
    public async Task Three_shards_run_at_once_merge_into_exactly_one_plain_run()
    {
        string plain = Path.Combine(dir, "plain"), merged = Path.Combine(dir, "merged"), data = Path.Combine(dir, "data");
        for (int i = 0; i < 20; i++)
            LayoutFixtures.WritePair(Path.Combine(data, "images", $"case{i:D2}.jpg"), Path.Combine(data, "masks", $"case{i:D2}_mask.png"), i, 160 + 8 * i);
        var common = new[] { "evaluate", "--weights", Weights, "--data", data };
        var whole = CliRunner.Run(common.Concat(new[] { "--out", plain, "--json" }).ToArray());
        Assert.True(whole.ExitCode == 0, whole.Stderr);

        var shards = Enumerable.Range(0, 3).Select(i => Task.Run(() =>
            CliRunner.Run(common.Concat(new[] { "--shard", $"{i}/3", "--out", Path.Combine(dir, $"shard{i}") }).ToArray()))).ToArray();
        foreach (var s in await Task.WhenAll(shards)) Assert.True(s.ExitCode == 0, s.Stderr);
        var rows = Enumerable.Range(0, 3).Select(i => File.ReadAllLines(Path.Combine(dir, $"shard{i}", "per_image.csv")).Length - 1).ToList();
        Assert.Equal(new[] { 8, 8, 4 }, rows); // blocks of one batch (8): 0-7, 8-15, 16-19

        var merge = CliRunner.Run("evaluate", "--merge", Path.Combine(dir, "shard0"), Path.Combine(dir, "shard1"), Path.Combine(dir, "shard2"), "--out", merged, "--json");
        Assert.True(merge.ExitCode == 0, merge.Stderr);
        Assert.Equal(whole.Stdout, merge.Stdout);
        Assert.Equal(File.ReadAllBytes(Path.Combine(plain, "per_image.csv")), File.ReadAllBytes(Path.Combine(merged, "per_image.csv")));
        Assert.Equal(File.ReadAllText(Path.Combine(plain, "summary.json")), File.ReadAllText(Path.Combine(merged, "summary.json")));
        var counts = JsonNode.Parse(merge.Stdout)!;
        Assert.Equal(20L * 256 * 256, new[] { "tp", "fp", "fn", "tn" }.Sum(k => counts[k]!.GetValue<long>()));
        Assert.All(File.ReadAllLines(Path.Combine(merged, "per_image.csv")).Skip(1), l => Assert.NotEqual("", l.Split(',')[6])); // original-resolution Dice

        var twice = CliRunner.Run("evaluate", "--merge", Path.Combine(dir, "shard0"), Path.Combine(dir, "shard0"));
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("more than one shard", twice.Stderr);
        Assert.Equal(2, CliRunner.Run("evaluate", "--data", data, "--shard", "3/3").ExitCode);
    }

    [Fact]
    public void Ph2_as_it_unpacks_is_evaluated_whole_and_an_unreadable_image_is_named_and_skipped()
    {
        var root = LayoutFixtures.Ph2(dir, 5);
        var r = CliRunner.Run("evaluate", "--weights", Weights, "--data", dir, "--json", "--no-original-resolution");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(5, JsonNode.Parse(r.Stdout)!["images"]!.GetValue<int>());
        Assert.DoesNotContain("part", r.Stderr);

        var bad = Path.Combine(root, "PH2 Dataset images", "IMD003", "IMD003_Dermoscopic_Image", "IMD003.bmp");
        File.WriteAllBytes(bad, File.ReadAllBytes(bad)[..60]);
        var skipped = CliRunner.Run("evaluate", "--weights", Weights, "--data", root, "--json", "--out", Path.Combine(dir, "out"));
        Assert.Equal(1, skipped.ExitCode);
        Assert.Contains(bad, skipped.Stderr);
        Assert.Equal(4, JsonNode.Parse(skipped.Stdout)!["images"]!.GetValue<int>());
        Assert.Equal(5, File.ReadAllLines(Path.Combine(dir, "out", "per_image.csv")).Length);
    }

    private static Dictionary<string, byte[]> Files(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(folder, f), File.ReadAllBytes);

    [Fact]
    public async Task Predict_shards_at_once_equal_one_plain_run_and_a_rerun_restores_only_what_was_deleted()
    {
        var images = Path.Combine(dir, "images");
        for (int i = 0; i < 11; i++) LayoutFixtures.WritePair(Path.Combine(images, $"img{i:D2}.jpg"), Path.Combine(dir, "masks", $"img{i:D2}.png"), i, 120 + 16 * i);
        LayoutFixtures.WritePair(Path.Combine(images, "img03.png"), Path.Combine(dir, "masks", "other.png"), 50, 100); // a second img03
        string plain = Path.Combine(dir, "plain"), shared = Path.Combine(dir, "shared");
        var common = new[] { "predict", "--weights", Weights, "--input", images, "--batch-size", "2", "--save-probabilities" };
        var whole = CliRunner.Run(common.Concat(new[] { "--output", plain }).ToArray());
        Assert.True(whole.ExitCode == 0, whole.Stderr);
        var shards = Enumerable.Range(0, 3).Select(i => Task.Run(() => CliRunner.Run(common.Concat(new[] { "--output", shared, "--shard", $"{i}/3" }).ToArray())));
        foreach (var s in await Task.WhenAll(shards)) Assert.True(s.ExitCode == 0, s.Stderr);

        var expected = Files(plain);
        Assert.Equal(12 * 3 + 12 + 1, expected.Count); // mask, prob and overlay, a row mark each, summary.csv
        Assert.Contains("img03_png_overlay.jpg", expected.Keys);
        Assert.Equal(13, File.ReadAllLines(Path.Combine(plain, "summary.csv")).Length);
        var got = Files(shared);
        Assert.Equal(expected.Keys.Order(), got.Keys.Order());
        foreach (var (name, bytes) in expected) Assert.True(bytes.SequenceEqual(got[name]), $"{name} differs from the plain run's");

        // A pre-empted shard: some outputs gone (and the summary). The rerun redoes the two batches (of 2) that hold
        // them, whole, and nothing else; the files come back byte for byte.
        File.Delete(Path.Combine(shared, "img04_mask.png"));
        File.Delete(Path.Combine(shared, "img07_overlay.jpg"));
        File.Delete(Path.Combine(shared, "summary.csv"));
        var untouched = File.GetLastWriteTimeUtc(Path.Combine(shared, "img05_mask.png"));
        var rerun = CliRunner.Run(common.Concat(new[] { "--output", shared }).ToArray());
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        Assert.Contains("segmented 4 image(s)", rerun.Stdout);
        Assert.Contains("8 already done", rerun.Stdout);
        Assert.Equal(untouched, File.GetLastWriteTimeUtc(Path.Combine(shared, "img05_mask.png")));
        got = Files(shared);
        foreach (var (name, bytes) in expected) Assert.True(bytes.SequenceEqual(got[name]), $"{name} differs after the rerun");
        Assert.DoesNotContain(Directory.EnumerateFiles(shared, "*", SearchOption.AllDirectories), f => f.Contains(".tmp"));
    }
}

using Malunet.Training;
using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Models;
using Malunet.Tests.Cli;
using static TorchSharp.torch;

namespace Malunet.Tests.Models;

/// <summary>The shipped weights are a correctness artefact: they must load and reach their model card's accuracy.</summary>
public class BundledWeightsTests
{
    /// <summary>Every architecture with bundled weights (MALUNet and, for the paper's comparison, its peers), on every data set.</summary>
    public static TheoryData<string, string> Bundled() => Pairs(".safetensors");

    /// <summary>Every bundled ONNX export: (model, data set).</summary>
    public static TheoryData<string, string> BundledOnnx() => Pairs(".onnx");

    /// <summary>(model, data set) of every bundled file with <paramref name="extension"/>.</summary>
    private static TheoryData<string, string> Pairs(string extension)
    {
        var data = new TheoryData<string, string>();
        foreach (var dataset in BundledWeights.Datasets)
            foreach (var model in BundledWeights.Models(extension, dataset)) data.Add(model, dataset);
        return data;
    }

    [Fact]
    public void MALUNet_and_its_two_peers_have_bundled_weights()
    {
        foreach (var m in new[] { "malunet", "egeunet", "unext-s" })
            Assert.True(BundledWeights.Find(m) != null && BundledWeights.Card(m) != null, $"weights/{BundledWeights.FileName(m)} or its card is missing");
    }

    [Fact]
    public void MALUNet_trained_on_ISIC_2017_has_its_ONNX_export_bundled()
    {
        Assert.Contains("malunet", BundledWeights.Models(".onnx"));
    }

    /// <summary>Each shipped ONNX model (run without libtorch) is the export of the shipped weights by today's exporter.</summary>
    [Theory]
    [MemberData(nameof(BundledOnnx))]
    public void Bundled_onnx_model_is_todays_export_of_the_bundled_weights(string model, string dataset)
    {
        var onnx = BundledWeights.FindOnnx(model, dataset)!;
        var weights = BundledWeights.Find(model, dataset);
        Assert.True(weights != null, $"{onnx} has no checkpoint beside it");
        var expected = OnnxExporter.ToBytes(ModelCheckpoint.Load(weights));
        Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(onnx)),
            $"{onnx} is not the export of {weights} by this exporter; after changing the exporter, write it again: " +
            $"./malunet export --weights {weights} --format onnx --output {onnx}");
    }

    /// <summary>
    /// Each data set's test images of the paper's split at 256x256 (ISIC 2017: 650, ISIC 2018: 779), decoded afresh
    /// (no cache file: a stale cache entry must not hide a decoding change) once for every architecture's card test.
    /// </summary>
    private static readonly Dictionary<string, Lazy<IReadOnlyList<CachedSample>>> TestImages =
        BundledWeights.Datasets.ToDictionary(d => d, d => new Lazy<IReadOnlyList<CachedSample>>(() =>
        {
            var root = SharedData.Dataset(d);
            var split = DataSplit.Load(SharedData.PaperSplit(d));
            var byId = DatasetScanner.Scan(root).Samples.ToDictionary(s => s.Id);
            var cached = ImageCache.Load(split.Test.Select(id => byId[id]).ToList(), 256, null, out var problems);
            Assert.DoesNotContain(problems, p => p.Fatal);
            return cached;
        }));

    [Theory]
    [MemberData(nameof(Bundled))]
    public void Bundled_weights_reach_the_model_card_metrics_on_their_test_images(string name, string dataset)
    {
        var path = BundledWeights.Find(name, dataset)!;
        var card = BundledWeights.Card(name, dataset);
        Assert.True(card != null, $"{path} has no card");
        var (images, test) = BundledWeights.PaperSplitTest(card) ?? throw new Xunit.Sdk.XunitException($"the card of {path} has no test_N scores");
        double cardMiou = test["miou"]!.GetValue<double>();
        var model = ModelCheckpoint.Load(path);
        Assert.Equal(name, model.Options.Model);
        var cached = TestImages[dataset].Value;
        Assert.Equal(images, cached.Count);
        var result = Evaluator.Run(model, cached, CPU, 8, 0.5);
        // The evaluation is deterministic: the card's numbers, to 1e-6 (one flipped pixel of the 42.6 M moves mIoU by ~3e-8).
        var pooled = Assert.IsType<ConfusionMetrics>(result.Metrics);
        Assert.Equal(cardMiou, result.Metrics.MIoU, 1e-6);
        Assert.Equal(test["dsc"]!.GetValue<double>(), result.Metrics.Dsc, 1e-6);
        Assert.Equal(test["acc"]!.GetValue<double>(), pooled.Accuracy, 1e-6);
        Assert.Equal(test["sen"]!.GetValue<double>(), pooled.Sensitivity, 1e-6);
        Assert.Equal(test["spe"]!.GetValue<double>(), pooled.Specificity, 1e-6);
    }

    [Fact]
    public void Predict_without_weights_uses_the_bundled_ones_and_says_so()
    {
        var outDir = Directory.CreateTempSubdirectory("malunet-bundled-").FullName;
        try
        {
            var r = CliRunner.Run("predict", "--input", Path.Combine(SharedData.Isic2017, "ISIC-2017_Test_v2_Data", "ISIC_0012223.jpg"), "--output", outDir);
            Assert.True(r.ExitCode == 0, r.Stderr);
            Assert.Contains("using the bundled weights", r.Stderr);
            Assert.True(File.Exists(Path.Combine(outDir, "ISIC_0012223_mask.png")));
        }
        finally { Directory.Delete(outDir, true); }
    }

    [Fact]
    public void Without_weights_an_architecture_with_no_bundled_weights_is_a_usage_error_naming_the_bundled_ones()
    {
        var r = CliRunner.Run("predict", "--model", "unet", "--input", Path.Combine(SharedData.Isic2017, "ISIC-2017_Test_v2_Data", "ISIC_0012223.jpg"),
                              "--output", Path.Combine(Path.GetTempPath(), "malunet-never-written"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("no bundled weights for --model unet", r.Stderr);
        Assert.Contains("bundled: malunet", r.Stderr);
    }
}

using Malunet.Data;
using Malunet.Models;
using Malunet.Training;
using static TorchSharp.torch;

namespace Malunet.Tests.Training;

/// <summary>Collects what the trainer reports; optionally cancels after a number of batches (a Ctrl-C).</summary>
public sealed class RecordingReporter(CancellationTokenSource? cancel = null, int cancelAfterBatches = int.MaxValue) : ITrainingReporter
{
    public List<string> Lines { get; } = new();
    public List<string> Warnings { get; } = new();
    public List<EpochMetrics> Epochs { get; } = new();
    private int batches;
    public void Info(string line) => Lines.Add(line);
    public void Warn(string line) => Warnings.Add(line);
    public void Phase(string name, int done, int total) { }
    public void EpochStarted(int epoch, int epochs, int n, double lr) { }
    public void BatchDone(int epoch, int batch, int n, double loss, double ips)
    {
        if (++batches == cancelAfterBatches) cancel?.Cancel();
    }
    public void EpochDone(EpochMetrics m, bool improved) => Epochs.Add(m);
}

public class TrainerTests : TempFolderTest
{

    private TrainingConfig Config(int epochs) => new()
    {
        Data = SharedData.Isic2017,
        Split = SharedData.PaperSplit("isic2017"),
        Epochs = epochs, BatchSize = 4, Limit = 16, ImageSize = 64, CacheDir = Path.Combine(dir, "cache"), Panels = 2,
    };

    private static Dictionary<string, Tensor> Weights(string checkpoint) => ModelCheckpoint.Read(checkpoint).Tensors;

    private static double MaxDiff(Dictionary<string, Tensor> a, Dictionary<string, Tensor> b) =>
        a.Max(kv => TensorAssert.MaxAbsDiff(kv.Value, b[kv.Key]));

    [Fact]
    public void A_run_writes_every_file_and_resumes_exactly_after_an_interruption()
    {
        // Straight: 2 epochs.
        var straight = new RunFolder(Path.Combine(dir, "straight"));
        var outcome = new Trainer(Config(2), straight, new RecordingReporter()).Run(false, CancellationToken.None);
        Assert.Equal(2, outcome.EpochsRun);
        foreach (var f in new[] { straight.ConfigPath, straight.SplitPath, straight.MetricsPath, straight.LastCheckpoint, straight.BestCheckpoint, straight.CurvesPath, straight.PanelsPath, straight.TestPath })
            Assert.True(File.Exists(f), f);
        Assert.Equal(2, straight.ReadMetrics().Count);
        var test = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(straight.TestPath))!;
        foreach (var k in new[] { "miou", "dsc", "acc", "sen", "spe" }) Assert.InRange(test[k]!.GetValue<double>(), 0.0, 1.0);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(straight.CurvesPath)[..4]);

        // Interrupted in the middle of epoch 2 (after 6 of 8 batches), then resumed.
        var split = new RunFolder(Path.Combine(dir, "split"));
        using var cts = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() =>
            new Trainer(Config(2), split, new RecordingReporter(cts, 6)).Run(false, cts.Token));
        Assert.Single(split.ReadMetrics());
        Assert.Empty(Directory.GetFiles(Path.Combine(split.Root, "checkpoints"), "*.tmp"));
        var resumed = new Trainer(TrainingConfig.Load(split.ConfigPath), split, new RecordingReporter()).Run(true, CancellationToken.None);
        Assert.Equal(1, resumed.EpochsRun);
        Assert.Equal(2, split.ReadMetrics().Count);
        Assert.True(MaxDiff(Weights(straight.LastCheckpoint), Weights(split.LastCheckpoint)) < 1e-5);

        // Resumed at an epoch boundary with more epochs.
        var boundary = new RunFolder(Path.Combine(dir, "boundary"));
        new Trainer(Config(1), boundary, new RecordingReporter()).Run(false, CancellationToken.None);
        var more = TrainingConfig.Load(boundary.ConfigPath);
        more.Epochs = 2;
        new Trainer(more, boundary, new RecordingReporter()).Run(true, CancellationToken.None);
        Assert.True(MaxDiff(Weights(straight.LastCheckpoint), Weights(boundary.LastCheckpoint)) < 1e-5);
    }

    [Fact]
    public void Select_on_test_says_so()
    {
        var c = Config(1);
        c.SelectOn = "test";
        var rep = new RecordingReporter();
        new Trainer(c, new RunFolder(Path.Combine(dir, "t")), rep).Run(false, CancellationToken.None);
        Assert.Contains(rep.Warnings, w => w.Contains("TEST split"));
    }

    private string SyntheticData(int n)
    {
        var root = Path.Combine(dir, "data");
        SyntheticLesions.Write(root, n, 64);
        return root;
    }

    private TrainingConfig SyntheticConfig(string data) => new()
    {
        Data = data, Epochs = 1, BatchSize = 4, ImageSize = 64, CacheDir = null, SplitRatio = 0.75, ValRatio = 0.25,
    };

    [Fact]
    public void Unpaired_and_corrupt_files_stop_training_by_name_unless_skip_bad()
    {
        var data = SyntheticData(12);
        File.Delete(Path.Combine(data, "masks", "SYN_0003_segmentation.png"));               // image without a mask
        var jpg = File.ReadAllBytes(Path.Combine(data, "images", "SYN_0005.jpg"));
        File.WriteAllBytes(Path.Combine(data, "images", "SYN_0005.jpg"), jpg[..(jpg.Length / 3)]); // truncated JPEG

        var e = Assert.Throws<DataProblemsException>(() =>
            new Trainer(SyntheticConfig(data), new RunFolder(Path.Combine(dir, "r1")), new RecordingReporter()).Run(false, CancellationToken.None));
        Assert.Contains(e.Problems, p => p.Path.EndsWith("SYN_0003.jpg") && p.Problem.Contains("without a mask"));
        Assert.False(File.Exists(Path.Combine(dir, "r1", "checkpoints", "last.safetensors")));

        var c = SyntheticConfig(data);
        c.SkipBad = true;
        var rep = new RecordingReporter();
        new Trainer(c, new RunFolder(Path.Combine(dir, "r2")), rep).Run(false, CancellationToken.None);
        Assert.Contains(rep.Warnings, w => w.Contains("skipped") && w.Contains("SYN_0003.jpg"));
        Assert.Contains(rep.Warnings, w => w.Contains("skipped") && w.Contains("SYN_0005.jpg") && w.Contains("truncated"));
    }

    [Fact]
    public void Non_binary_masks_are_reported_as_information_with_the_count()
    {
        var data = SyntheticData(8);
        var maskPath = Path.Combine(data, "masks", "SYN_0002_segmentation.png");
        var m = ImageDecoder.DecodeGray(maskPath);
        for (int i = 0; i < 10; i++) m.Pixels[i] = 128;
        ImageDecoder.SavePng(m, maskPath);
        var rep = new RecordingReporter();
        new Trainer(SyntheticConfig(data), new RunFolder(Path.Combine(dir, "r3")), rep).Run(false, CancellationToken.None);
        // Soft edges are how the official code's masks may look (ISIC 2018's all do): information, not a warning.
        Assert.Contains(rep.Lines, w => w.Contains("SYN_0002_segmentation.png") && w.Contains("10 pixels") && w.Contains(">= 128"));
        Assert.DoesNotContain(rep.Warnings, w => w.Contains("SYN_0002_segmentation.png"));
    }
}

using Malunet.Models;
using Malunet.Tests.Cli;
using Malunet.Training;

namespace Malunet.Tests.Training;

/// <summary>
/// <c>train --init</c>: the weights file replaces the random initialisation exactly; the wrong architecture or shape is
/// refused naming the tensor; another class count re-initialises the output layer only; and starting from the
/// bundled weights shows in the first epoch's validation score.
/// </summary>
[Collection(SeededRandomness.Name)]
public class FineTuningTests : TempFolderTest
{
    private static string Bundled => BundledWeights.Find() ?? throw new FileNotFoundException("bundled weights not found");

    [Fact]
    public void Initial_weights_are_copied_exactly()
    {
        using var model = ModelCatalog.Create(new ModelOptions());
        Assert.Empty(InitialWeights.Apply(model, Bundled));
        var file = ModelCheckpoint.Read(Bundled).Tensors;
        foreach (var (name, t) in model.state_dict())
            Assert.Equal(0.0, TensorAssert.MaxAbsDiff(t, file[name]));
    }

    [Fact]
    public void Another_architecture_or_shape_is_refused_naming_the_tensor()
    {
        using var ege = ModelCatalog.Create(new ModelOptions { Model = "egeunet" });
        var e = Assert.Throws<IncompatibleWeightsException>(() => InitialWeights.Apply(ege, Bundled));
        Assert.Contains("missing", e.Message);

        using var wider = ModelCatalog.Create(new ModelOptions { CList = [8, 16, 24, 32, 48, 96] });
        var shape = Assert.Throws<IncompatibleWeightsException>(() => InitialWeights.Apply(wider, Bundled));
        Assert.Contains(" has shape [", shape.Message);
    }

    [Fact]
    public void Another_class_count_reinitialises_only_the_output_layer()
    {
        TorchSharp.torch.manual_seed(3);
        using var model = ModelCatalog.Create(new ModelOptions { NumClasses = 3 });
        var before = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
        var fresh = InitialWeights.Apply(model, Bundled);
        Assert.Equal(new[] { "final.weight", "final.bias" }.Order(), fresh.Order());
        var file = ModelCheckpoint.Read(Bundled).Tensors;
        foreach (var (name, t) in model.state_dict())
            Assert.Equal(0.0, TensorAssert.MaxAbsDiff(t, fresh.Contains(name) ? before[name] : file[name]));
    }

    [Fact]
    public void Starting_from_the_bundled_weights_shows_in_the_first_epoch()
    {
        TrainingConfig Config(string? init) => new()
        {
            Data = SharedData.Isic2017,
            Split = SharedData.PaperSplit("isic2017"),
            Epochs = 1, BatchSize = 4, Limit = 16, CacheDir = Path.Combine(dir, "cache"), Panels = 1, Init = init,
        };
        var scratch = new RecordingReporter();
        new Trainer(Config(null), new RunFolder(Path.Combine(dir, "scratch")), scratch).Run(false, CancellationToken.None);
        var tuned = new RecordingReporter();
        new Trainer(Config(Bundled), new RunFolder(Path.Combine(dir, "tuned")), tuned).Run(false, CancellationToken.None);
        Assert.Contains(tuned.Lines, l => l.StartsWith("initial weights: ") && l.Contains("malunet-isic2017"));
        // Bundled weights score about 0.8 on ISIC 2017; one epoch on 16 images from scratch is far from it.
        Assert.True(tuned.Epochs[0].ValMIoU > 0.6, $"fine-tuned val mIoU {tuned.Epochs[0].ValMIoU}");
        Assert.True(tuned.Epochs[0].ValMIoU > scratch.Epochs[0].ValMIoU + 0.2,
                    $"fine-tuned {tuned.Epochs[0].ValMIoU} vs scratch {scratch.Epochs[0].ValMIoU}");
    }

    [Fact]
    public void Cli_refuses_unfit_weights_with_exit_2()
    {
        var ege = Path.Combine(dir, "ege.safetensors");
        using (var model = ModelCatalog.Create(new ModelOptions { Model = "egeunet" })) ModelCheckpoint.Save(ege, model);
        var r = CliRunner.Run("train", "--data", SharedData.Isic2017, "--init", ege, "--out", Path.Combine(dir, "x"));
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("malunet: error: --init: ", r.Stderr.Trim());
        Assert.Single(r.Stderr.Trim().Split('\n'));

        var none = CliRunner.Run("train", "--data", SharedData.Isic2017, "--init", "bundled", "--model", "unet", "--out", Path.Combine(dir, "y"));
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("no bundled weights for --model unet", none.Stderr);
    }
}

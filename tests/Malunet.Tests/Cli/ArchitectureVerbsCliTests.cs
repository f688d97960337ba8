using System.Text.Json.Nodes;
using Malunet.Data;

namespace Malunet.Tests.Cli;

/// <summary>
/// Every verb with an architecture other than MALUNet: EGE-UNet, the one with deep supervision and its own blocks.
/// Its checkpoint carries the model options, so evaluate, predict, export and serve need no model flags.
/// </summary>
public class ArchitectureVerbsCliTests : TempFolderTest
{
    [Fact]
    public void Train_evaluate_predict_and_export_work_for_egeunet_without_model_flags_after_training()
    {
        var run = Path.Combine(dir, "run");
        var train = CliRunner.Run("train", "--model", "egeunet", "--data", SharedData.Isic2017,
                                  "--split", SharedData.PaperSplit("isic2017"),
                                  "--epochs", "1", "--limit", "16", "--batch-size", "4", "--image-size", "128", "--out", run);
        Assert.True(train.ExitCode == 0, train.Stderr);
        var weights = Path.Combine(run, "checkpoints", "best.safetensors");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "config.json")))!;
        Assert.Equal("egeunet", config["model"]!["model"]!.GetValue<string>());

        var eval = CliRunner.Run("evaluate", "--weights", weights, "--data", SharedData.Isic2017, "--subset", "test", "--json",
                                 "--no-original-resolution");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        Assert.Equal(20, JsonNode.Parse(eval.Stdout)!["images"]!.GetValue<int>());

        var image = Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images", "ISIC_0014600.jpg");
        var pred = CliRunner.Run("predict", "--weights", weights, "--input", image, "--output", Path.Combine(dir, "pred"));
        Assert.True(pred.ExitCode == 0, pred.Stderr);
        Assert.Equal(ImageDecoder.ReadSize(image), ImageDecoder.ReadSize(Path.Combine(dir, "pred", "ISIC_0014600_mask.png")));

        var onnx = Path.Combine(dir, "egeunet.onnx");
        var export = CliRunner.Run("export", "--weights", weights, "--format", "onnx", "--output", onnx);
        Assert.True(export.ExitCode == 0, export.Stderr);
        // The input size travels with the weights: the export, and every verb after it, run at 128 without flags.
        using (var session = new Malunet.Inference.OnnxEngine(onnx)) Assert.Equal(new[] { -1, 3, 128, 128 }, session.InputShape);
        Assert.Equal("128", Malunet.Models.ModelCheckpoint.Read(weights).Metadata["input_size"]);
        var viaOnnx = CliRunner.Run("predict", "--engine", "onnx", "--weights", onnx, "--input", image, "--output", Path.Combine(dir, "pred-onnx"));
        Assert.True(viaOnnx.ExitCode == 0, viaOnnx.Stderr);
        // The two engines give the same mask up to pixels whose probability sits at the threshold.
        var a = ImageDecoder.DecodeGray(Path.Combine(dir, "pred", "ISIC_0014600_mask.png")).Pixels;
        var b = ImageDecoder.DecodeGray(Path.Combine(dir, "pred-onnx", "ISIC_0014600_mask.png")).Pixels;
        Assert.True(a.Zip(b).Count(p => p.First != p.Second) <= a.Length / 10000, "torch and ONNX masks differ");
    }
}

using Malunet.Models;
using Malunet.Tests.Models;

namespace Malunet.Tests.Cli;

/// <summary>
/// <c>--model M --trained-on D</c> picks the bundled weights of M trained on D in every verb that runs a network, and
/// those are the weights <c>--weights weights/M-D.safetensors</c> names: the same masks from predict, the same graph
/// from export, for every bundled (model, data set) pair.
/// </summary>
public class TrainedOnCliTests : TempFolderTest
{
    private static readonly string Image = Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images", "ISIC_0014600.jpg");

    public static TheoryData<string, string> Bundled() => BundledWeightsTests.Bundled();

    [Theory]
    [MemberData(nameof(Bundled))]
    public void The_data_set_chosen_is_the_weights_file_of_that_data_set(string model, string dataset)
    {
        var file = BundledWeights.Find(model, dataset)!;

        var chosen = CliRunner.Run("predict", "--model", model, "--trained-on", dataset, "--no-overlay", "--input", Image, "--output", Path.Combine(dir, "chosen"));
        Assert.True(chosen.ExitCode == 0, chosen.Stderr);
        // MALUNet's bundled ONNX export (malunet-D.onnx) runs where it exists; its bits are the export of malunet-D.safetensors.
        Assert.Contains($"{Path.GetFileNameWithoutExtension(file)}.", chosen.Stderr);
        Assert.Contains($"({model} trained on {BundledWeights.DatasetTitle(dataset)}", chosen.Stderr);
        var named = CliRunner.Run("predict", "--weights", file, "--no-overlay", "--input", Image, "--output", Path.Combine(dir, "named"));
        Assert.True(named.ExitCode == 0, named.Stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "named", "ISIC_0014600_mask.png")),
                     File.ReadAllBytes(Path.Combine(dir, "chosen", "ISIC_0014600_mask.png")));

        var exported = Path.Combine(dir, "chosen.onnx");
        var export = CliRunner.Run("export", "--model", model, "--trained-on", dataset, "--format", "onnx", "--output", exported);
        Assert.True(export.ExitCode == 0, export.Stderr);
        Assert.Equal(OnnxExporter.ToBytes(ModelCheckpoint.Load(file)), File.ReadAllBytes(exported));
    }
}

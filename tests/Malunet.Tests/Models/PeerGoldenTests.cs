using Malunet.Interop;
using Malunet.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Tests.Models;

/// <summary>
/// EGE-UNet and UNeXt-S against their official PyTorch codes (../shared/fixtures/egeunet-official and
/// unext-s-official): the official state_dicts load as they are, the outputs match, and our exported state_dict has
/// the official keys in the official order.
/// </summary>
public class PeerGoldenTests : TempFolderTest
{
    private static string Fixture(string model, string file) => Path.Combine(SharedData.Root, "fixtures", $"{model}-official", "seed0", file);

    private static SegmentationModel LoadOfficial(string model)
    {
        var loaded = ModelCheckpoint.Load(Fixture(model, "weights.pth"), new ModelOptions { Model = model });
        loaded.eval();
        return loaded;
    }

    [Theory]
    [InlineData("egeunet")]
    [InlineData("unext-s")]
    public void Official_checkpoint_loads_as_it_is_and_the_output_matches(string model)
    {
        using var scope = NewDisposeScope();
        var net = LoadOfficial(model);
        var x = NpyTensors.Read(Fixture(model, "input.npy"));
        using var _ = torch.no_grad();
        var (y, sides) = net.ForwardWithSideOutputs(x);
        TensorAssert.Close(NpyTensors.Read(Fixture(model, "output.npy")), y, 1e-4, $"{model} output");
        if (model == "egeunet")
        {
            Assert.Equal(5, sides.Length);
            for (int k = 0; k < 5; k++)
                TensorAssert.Close(NpyTensors.Read(Fixture(model, $"side_output_{k + 1}.npy")), sides[k], 1e-4, $"side output {k + 1}");
        }
    }

    [Theory]
    [InlineData("egeunet")]
    [InlineData("unext-s")]
    public void Exported_pth_has_the_official_keys_in_the_official_order(string model)
    {
        using var scope = NewDisposeScope();
        var official = PyTorchPth.LoadStateDict(Fixture(model, "weights.pth"));
        var counts = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Fixture(model, "counts.json")))!;
        Assert.Equal((int)counts["state_dict_keys"]!, official.Count);

        var path = Path.Combine(dir, "exported.pth");
        ModelCheckpoint.ExportForPyTorch(path, LoadOfficial(model));
        var exported = PyTorchPth.LoadStateDict(path);
        Assert.Equal(official.Keys.ToList(), exported.Keys.ToList());
        foreach (var (k, t) in official)
            Assert.True(TensorAssert.MaxAbsDiff(exported[k], t) == 0, $"{k} changed on the round trip");
    }
}

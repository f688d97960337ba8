using Malunet.Inference;
using Malunet.Interop;
using Malunet.Layers;
using Malunet.Models;
using Malunet.Tests.Models;
using static TorchSharp.torch;

namespace Malunet.Tests.Interop;

/// <summary>ONNX Runtime runs our exported graph and agrees with TorchSharp within 1e-4.</summary>
public class OnnxExportTests : TempFolderTest
{

    private double Parity(SegmentationModel model, Tensor x)
    {
        var path = Path.Combine(dir, Guid.NewGuid() + ".onnx");
        OnnxExporter.Export(model, path, (int)x.shape[2], (int)x.shape[3]);
        using var onnx = new OnnxEngine(path);
        using var torchEngine = new TorchEngine(model, CPU);
        return TensorAssert.MaxAbsDiff(onnx.Run(x), torchEngine.Run(x));
    }

    [Fact]
    public void Default_model_with_official_weights_matches_on_the_fixture_input()
    {
        var io = SharedData.ReadGroup("io");
        var model = MalunetGoldenTests.LoadFixtureModel();
        double d = Parity(model, io["input"]);
        Assert.True(d <= 1e-4, $"max |onnx - torch| {d:E3}");
    }

    [Theory]
    [InlineData("conv", true, "sab-first")]
    [InlineData("fc", false, "sab-first")]
    [InlineData("fc", true, "cab-first")]
    public void Other_option_sets_match(string split, bool bridge, string order)
    {
        var io = SharedData.ReadGroup("io");
        manual_seed(1);
        var model = ModelCatalog.Create(new ModelOptions { SplitAtt = ModelOptions.ParseSplitAtt(split), Bridge = bridge, BridgeOrder = ModelOptions.ParseBridgeOrder(order) });
        double d = Parity(model, io["input"]);
        Assert.True(d <= 1e-4, $"max |onnx - torch| {d:E3}");
    }

    [Fact]
    public void Batch_is_dynamic_and_the_options_are_recorded()
    {
        var model = ModelCatalog.Create(new ModelOptions());
        var path = Path.Combine(dir, "m.onnx");
        OnnxExporter.Export(model, path);
        using var onnx = new OnnxEngine(path);
        Assert.Equal(new[] { -1, 3, 256, 256 }, onnx.InputShape);
        Assert.Equal(new long[] { 3, 1, 256, 256 }, onnx.Run(rand(3, 3, 256, 256).mul(255)).shape);
        Assert.Contains("\"split_att\":\"fc\"", onnx.ModelOptionsJson);
        Assert.Throws<ArgumentException>(() => onnx.Run(rand(1, 3, 128, 128)));
    }

    [Theory]
    [InlineData(4, 1e-5)]
    [InlineData(8, 1e-3)]
    public void GroupNorm_exports_with_the_modules_own_groups_and_epsilon(int groups, double eps)
    {
        using var scope = NewDisposeScope();
        var norm = nn.GroupNorm(groups, 16, eps);
        using (no_grad()) { norm.weight!.copy_(rand(16) + 0.5); norm.bias!.copy_(rand(16) - 0.5); }
        var g = new OnnxGraphBuilder { InputHeight = 8, InputWidth = 8 };
        var y = g.GroupNorm("x", norm);
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(g.ToModel("x", g.Node("Identity", new[] { y }), 16, 8, 8, "test"));
        using var engine = new OnnxEngine(bytes, "groupnorm");
        var x = randn(2, 16, 8, 8).mul(3).add(1);
        TensorAssert.Close(norm.call(x), engine.Run(x), 1e-5, $"GroupNorm({groups}, eps {eps})");
    }
}

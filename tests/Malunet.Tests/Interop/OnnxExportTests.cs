using Malunet.Inference;
using Malunet.Interop;
using Malunet.Layers;
using Malunet.Models;
using Malunet.Tests.Models;
using static TorchSharp.torch;

namespace Malunet.Tests.Interop;

/// <summary>ONNX Runtime runs our exported graph and agrees with TorchSharp within 1e-4.</summary>
[Collection(SeededRandomness.Name)]
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

    /// <summary>The encoder's GroupNorm then 2x2 max-pooling: with no negative scale the affine map runs after the
    /// pooling, giving the very bits of the plain order; a negative scale keeps the plain order.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void GroupNorm_then_max_pooling_gives_the_plain_orders_bits(bool someNegativeScales)
    {
        using var scope = NewDisposeScope();
        var norm = nn.GroupNorm(4, 8);
        using (no_grad())
        {
            norm.weight!.copy_(rand(8) + 0.5);
            if (someNegativeScales) norm.weight![2] = tensor(-0.7f);
            norm.bias!.copy_(rand(8) - 0.5);
        }
        byte[] Graph(Func<OnnxGraphBuilder, string> build)
        {
            var g = new OnnxGraphBuilder { InputHeight = 16, InputWidth = 16 };
            return Google.Protobuf.MessageExtensions.ToByteArray(g.ToModel("x", g.Node("Identity", new[] { build(g) }), 8, 16, 16, "test"));
        }
        using var fused = new OnnxEngine(Graph(g => g.GroupNormMaxPool2x2("x", norm)), "pooled first");
        using var plain = new OnnxEngine(Graph(g => g.MaxPool2x2(g.GroupNorm("x", norm))), "plain");
        var x = randn(3, 8, 16, 16).mul(3).add(1);
        var y = fused.Run(x);
        Assert.Equal(new long[] { 3, 8, 8, 8 }, y.shape);
        Assert.Equal(plain.Run(x).data<float>().ToArray(), y.data<float>().ToArray());
        TensorAssert.Close(nn.functional.max_pool2d(norm.call(x), 2, 2), y, 1e-5, "max_pool2d(GroupNorm(x))");
    }

    /// <summary>
    /// The engine's sessions share a batch in consecutive shares; each share's images get exactly what a single
    /// session gives that share as its own batch. (Not always what it gives the whole batch: a share of one image
    /// runs ONNX Runtime's matrix-vector kernels, which add in another order, as any batch of one does.)
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(8)]
    public void Sessions_sharing_a_batch_give_each_share_the_single_sessions_result(int batch)
    {
        manual_seed(3);
        var bytes = OnnxExporter.ToBytes(ModelCatalog.Create(new ModelOptions()), 64, 64);
        using var one = new OnnxEngine(bytes, "one session", threads: 1);
        using var two = new OnnxEngine(bytes, "two sessions", threads: 2);
        using var three = new OnnxEngine(bytes, "three sessions", threads: 3);
        Assert.Equal((1, 2, 3), (one.Sessions, two.Sessions, three.Sessions));
        var x = rand(batch, 3, 64, 64).mul(255);
        foreach (var engine in new[] { two, three })
        {
            int shares = Math.Min(engine.Sessions, batch);
            var expected = cat(Enumerable.Range(0, shares).Select(k =>
            {
                long first = (long)k * batch / shares, end = (long)(k + 1) * batch / shares;
                return one.Run(x.narrow(0, first, end - first));
            }).ToArray(), 0);
            Assert.Equal(expected.data<float>().ToArray(), engine.Run(x).data<float>().ToArray());
        }
        Assert.Contains("takes [N, 3, 64, 64] inputs", Assert.Throws<ArgumentException>(() => two.Run(rand(2, 4, 64, 64))).Message);
        Assert.Equal((4, 1), OnnxEngine.SessionLayout(4));
        Assert.Equal((4, 4), OnnxEngine.SessionLayout(16));
    }
}

using Malunet.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>
/// Spatial Attention Bridge, SAB (paper Section III-D, Fig. 6 top). For every encoder stage it takes the channel
/// mean and channel max maps, concatenates them (2 channels) and applies <b>one shared</b> 7x7 convolution with
/// dilation 3 (padding 9) followed by a sigmoid, giving a 1 x H x W attention map per stage. Sharing the
/// convolution across stages is what makes the bridge multi-stage and nearly free (99 parameters).
/// Returns the maps; <see cref="AttentionBridge"/> applies them. Parameter names equal the official
/// <c>Spatial_Att_Bridge</c> (<c>shared_conv2d.0</c>).
/// </summary>
public sealed class SpatialAttentionBridge : nn.Module<Tensor[], Tensor[]>, IOnnxMultiExportable
{
    private readonly Sequential shared_conv2d;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public SpatialAttentionBridge(string name = "SpatialAttentionBridge") : base(name)
    {
        shared_conv2d = nn.Sequential(nn.Conv2d(2, 1, 7, padding: 9, dilation: 3), nn.Sigmoid());
        RegisterComponents();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor[] forward(Tensor[] stages)
    {
        var maps = new Tensor[stages.Length];
        for (int i = 0; i < stages.Length; i++)
        {
            using var scope = NewDisposeScope();
            var t = stages[i];
            var pooled = torch.cat(new[] { t.mean(new long[] { 1 }, keepdim: true), t.amax(new long[] { 1 }, keepdim: true) }, 1);
            maps[i] = shared_conv2d.call(pooled).MoveToOuterDisposeScope();
        }
        return maps;
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string[] ExportOnnx(OnnxGraphBuilder g, string[] stages) => stages.Select(t =>
    {
        var mean = g.Node("ReduceMean", new[] { t }, OnnxGraphBuilder.Ints("axes", 1), OnnxGraphBuilder.Int("keepdims", 1));
        var max = g.Node("ReduceMax", new[] { t }, OnnxGraphBuilder.Ints("axes", 1), OnnxGraphBuilder.Int("keepdims", 1));
        return g.Module(g.Node("Concat", new[] { mean, max }, OnnxGraphBuilder.Int("axis", 1)), shared_conv2d);
    }).ToArray();
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using Malunet.Interop;

namespace Malunet.Layers;

/// <summary>
/// Group Aggregation Bridge, GAB (EGE-UNet, Fig. 3): fuses a deeper feature map x_h, a shallower one x_l and the
/// decoder's side-output mask. x_h is projected to x_l's width by a 1x1 conv and resized to its size; both are split
/// into four channel groups, and group i of each is concatenated with the mask and passed through a channels-first
/// LayerNorm and a depthwise 3x3 conv with dilation 1, 2, 5 or 7. The four results are concatenated, normalised and
/// mapped back to x_l's width by a 1x1 conv.
/// </summary>
public sealed class GroupAggregationBridge : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <summary>The dilations of the four channel groups, as the official code.</summary>
    public static readonly long[] Dilations = { 1, 2, 5, 7 };

    private readonly Conv2d pre_project;
    private readonly Sequential g0, g1, g2, g3;
    private readonly Sequential tail_conv;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public GroupAggregationBridge(long highChannels, long lowChannels, string name = "GroupAggregationBridge") : base(name)
    {
        if (lowChannels % 4 != 0) throw new ArgumentException($"GAB splits channels into 4 groups: {lowChannels} is not divisible by 4");
        pre_project = nn.Conv2d(highChannels, lowChannels, 1);
        long width = lowChannels / 2 + 1; // a quarter of x_h, a quarter of x_l, and the mask
        Sequential Group(long d) => nn.Sequential(new ChannelsFirstLayerNorm(width),
            nn.Conv2d(width, width, 3, padding: (3 + 2 * (d - 1)) / 2, dilation: d, groups: width));
        g0 = Group(Dilations[0]); g1 = Group(Dilations[1]); g2 = Group(Dilations[2]); g3 = Group(Dilations[3]);
        tail_conv = nn.Sequential(new ChannelsFirstLayerNorm(4 * width), nn.Conv2d(4 * width, lowChannels, 1));
        RegisterComponents();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor high, Tensor low, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var h = F.interpolate(pre_project.call(high), new[] { low.shape[2], low.shape[3] }, mode: InterpolationMode.Bilinear, align_corners: true).chunk(4, 1);
        var l = low.chunk(4, 1);
        var groups = new[] { g0, g1, g2, g3 };
        var fused = groups.Select((g, i) => g.call(torch.cat(new[] { h[i], l[i], mask }, 1))).ToArray();
        return tail_conv.call(torch.cat(fused, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>ONNX form; <paramref name="scale"/> is the size ratio of x_l to x_h (1 at the bottleneck, else 2).</summary>
    public string ExportOnnx(OnnxGraphBuilder g, string high, string low, string mask, int scale)
    {
        long q = pre_project.out_channels / 4;
        var h = g.Nodes("Split", new[] { g.UpsampleAlignCorners(g.Conv(high, pre_project), scale), g.Int64s(q, q, q, q) }, 4, OnnxGraphBuilder.Int("axis", 1));
        var l = g.Nodes("Split", new[] { low, g.Int64s(q, q, q, q) }, 4, OnnxGraphBuilder.Int("axis", 1));
        var groups = new[] { g0, g1, g2, g3 };
        var fused = groups.Select((grp, i) => g.Module(g.Node("Concat", new[] { h[i], l[i], mask }, OnnxGraphBuilder.Int("axis", 1)), grp)).ToArray();
        return g.Module(g.Node("Concat", fused, OnnxGraphBuilder.Int("axis", 1)), tail_conv);
    }
}

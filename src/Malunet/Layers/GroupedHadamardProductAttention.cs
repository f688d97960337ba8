using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using Malunet.Interop;

namespace Malunet.Layers;

/// <summary>
/// Grouped multi-axis Hadamard Product Attention, GHPA (EGE-UNet, Ruan et al., MICCAI 2023, Fig. 2). After a
/// channels-first LayerNorm the channels are split into four groups. Three groups are multiplied element-wise
/// (Hadamard product) by learnable 8x8 weights on one pair of axes each: (H, W), (C, H) and (C, W); each weight
/// is bilinearly resized to the group's size and passed through a depthwise conv, GELU and a 1x1 conv (2-D for
/// H-W, 1-D for the channel pairs). The fourth group gets a 1x1 conv, GELU and a depthwise 3x3 conv. The groups
/// are concatenated, normalised again, and mapped to <c>outChannels</c> by a depthwise 3x3 conv, GELU and 1x1 conv.
/// </summary>
public sealed class GroupedHadamardProductAttention : nn.Module<Tensor, Tensor>
{
    private readonly Parameter params_xy;
    private readonly Sequential conv_xy;
    private readonly Parameter params_zx;
    private readonly Sequential conv_zx;
    private readonly Parameter params_zy;
    private readonly Sequential conv_zy;
    private readonly Sequential dw;
    private readonly ChannelsFirstLayerNorm norm1;
    private readonly ChannelsFirstLayerNorm norm2;
    private readonly Sequential ldw;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public GroupedHadamardProductAttention(long inChannels, long outChannels, long axisSize = 8, string name = "GroupedHadamardProductAttention") : base(name)
    {
        if (inChannels % 4 != 0) throw new ArgumentException($"GHPA splits channels into 4 groups: {inChannels} is not divisible by 4");
        long g = inChannels / 4;
        // The learnable Hadamard weights start at one: the block begins as the identity on three groups.
        params_xy = new Parameter(ones(1, g, axisSize, axisSize));
        conv_xy = nn.Sequential(nn.Conv2d(g, g, 3, padding: 1, groups: g), nn.GELU(), nn.Conv2d(g, g, 1));
        params_zx = new Parameter(ones(1, 1, g, axisSize));
        conv_zx = nn.Sequential(nn.Conv1d(g, g, 3, padding: 1, groups: g), nn.GELU(), nn.Conv1d(g, g, 1));
        params_zy = new Parameter(ones(1, 1, g, axisSize));
        conv_zy = nn.Sequential(nn.Conv1d(g, g, 3, padding: 1, groups: g), nn.GELU(), nn.Conv1d(g, g, 1));
        dw = nn.Sequential(nn.Conv2d(g, g, 1), nn.GELU(), nn.Conv2d(g, g, 3, padding: 1, groups: g));
        norm1 = new ChannelsFirstLayerNorm(inChannels);
        norm2 = new ChannelsFirstLayerNorm(inChannels);
        ldw = nn.Sequential(nn.Conv2d(inChannels, inChannels, 3, padding: 1, groups: inChannels), nn.GELU(), nn.Conv2d(inChannels, outChannels, 1));
        RegisterComponents();
    }

    private static Tensor Resize(Tensor weights, long h, long w) =>
        F.interpolate(weights, new[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: true);

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var parts = norm1.call(x).chunk(4, 1);
        long c = parts[0].shape[1], h = parts[0].shape[2], w = parts[0].shape[3];
        // (H, W): weights of the group's spatial size.
        var x1 = parts[0] * conv_xy.call(Resize(params_xy, h, w));
        // (C, H): [B, W, C, H] view times a [C, H] weight map.
        var zx = conv_zx.call(Resize(params_zx, c, h).squeeze(0)).unsqueeze(0);
        var x2 = (parts[1].permute(0, 3, 1, 2) * zx).permute(0, 2, 3, 1);
        // (C, W): [B, H, C, W] view times a [C, W] weight map.
        var zy = conv_zy.call(Resize(params_zy, c, w).squeeze(0)).unsqueeze(0);
        var x3 = (parts[2].permute(0, 2, 1, 3) * zy).permute(0, 2, 1, 3);
        var x4 = dw.call(parts[3]);
        return ldw.call(norm2.call(torch.cat(new[] { x1, x2, x3, x4 }, 1))).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// ONNX form for an input of <paramref name="h"/> x <paramref name="w"/>: the three Hadamard weight maps depend only
    /// on the parameters and the size, so they are computed here and stored as constants shaped to broadcast over the
    /// N x C/4 x H x W groups ([1, C, H, W], [1, C, H, 1], [1, C, 1, W]).
    /// </summary>
    public string ExportOnnx(OnnxGraphBuilder g, string x, long h, long w)
    {
        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        long c = params_xy.shape[1];
        var wxy = conv_xy.call(Resize(params_xy, h, w));
        var wzx = conv_zx.call(Resize(params_zx, c, h).squeeze(0)).reshape(1, c, h, 1);
        var wzy = conv_zy.call(Resize(params_zy, c, w).squeeze(0)).reshape(1, c, 1, w);
        var parts = g.Nodes("Split", new[] { g.Module(x, norm1), g.Int64s(c, c, c, c) }, 4, OnnxGraphBuilder.Int("axis", 1));
        var x1 = g.Mul(parts[0], g.Initializer(wxy, "ghpa_xy"));
        var x2 = g.Mul(parts[1], g.Initializer(wzx, "ghpa_zx"));
        var x3 = g.Mul(parts[2], g.Initializer(wzy, "ghpa_zy"));
        var x4 = g.Module(parts[3], dw);
        var cat = g.Node("Concat", new[] { x1, x2, x3, x4 }, OnnxGraphBuilder.Int("axis", 1));
        return g.Module(g.Module(cat, norm2), ldw);
    }
}

using Malunet.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Malunet.Layers;

/// <summary>
/// Dilated Gated Attention, DGA (paper Section III-B, Fig. 4). The input's channels are split into four equal
/// groups; each group gets its own depthwise 3x3 convolution with dilation 7, 5, 2 and 1 (multi-scale context at
/// almost no cost); the groups are concatenated, normalised with GroupNorm(4), mixed by a 1x1 convolution and
/// passed through GELU; a <see cref="GatedAttentionUnit"/> then maps the result to <c>outChannels</c>.
/// Parameter names (<c>mda0..3</c>, <c>norm_layer</c>, <c>conv</c>, <c>gau</c>) equal the official module.
/// </summary>
public sealed class DilatedGatedAttention : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    /// <summary>The paper's dilation rates, one per channel group.</summary>
    public static readonly long[] DefaultDilations = { 7, 5, 2, 1 };

    private readonly Conv2d mda0;
    private readonly Conv2d mda1;
    private readonly Conv2d mda2;
    private readonly Conv2d mda3;
    private readonly GroupNorm norm_layer;
    private readonly Conv2d conv;
    private readonly GatedAttentionUnit gau;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public DilatedGatedAttention(long inChannels, long outChannels, long kernelSize = 3, long[]? dilations = null,
                                 string name = "DilatedGatedAttention") : base(name)
    {
        if (inChannels % 4 != 0)
            throw new ArgumentException($"DilatedGatedAttention splits channels into 4 groups: {inChannels} is not divisible by 4");
        var d = dilations ?? DefaultDilations;
        if (d.Length != 4) throw new ArgumentException("DilatedGatedAttention needs exactly four dilation rates");
        long g = inChannels / 4;
        // 'Same' padding for a dilated kernel: the effective kernel is k + (k-1)(d-1).
        Conv2d Branch(long dilation) => nn.Conv2d(g, g, kernelSize, padding: (kernelSize + (kernelSize - 1) * (dilation - 1)) / 2,
                                                  dilation: dilation, groups: g);
        mda0 = Branch(d[0]);
        mda1 = Branch(d[1]);
        mda2 = Branch(d[2]);
        mda3 = Branch(d[3]);
        norm_layer = nn.GroupNorm(4, inChannels);
        conv = nn.Conv2d(inChannels, inChannels, 1);
        gau = new GatedAttentionUnit(inChannels, outChannels, 3);
        RegisterComponents();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var parts = x.chunk(4, 1);
        var multiScale = torch.cat(new[] { mda0.call(parts[0]), mda1.call(parts[1]), mda2.call(parts[2]), mda3.call(parts[3]) }, 1);
        var mixed = F.gelu(conv.call(norm_layer.call(multiScale)));
        return gau.call(mixed).MoveToOuterDisposeScope();
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string ExportOnnx(OnnxGraphBuilder g, string x)
    {
        long group = mda0.in_channels;
        var parts = g.Nodes("Split", new[] { x, g.Int64s(group, group, group, group) }, 4, OnnxGraphBuilder.Int("axis", 1));
        var cat = g.Node("Concat", new[] { g.Conv(parts[0], mda0), g.Conv(parts[1], mda1), g.Conv(parts[2], mda2), g.Conv(parts[3], mda3) },
                         OnnxGraphBuilder.Int("axis", 1));
        var mixed = g.Gelu(g.Conv(g.GroupNorm(cat, norm_layer), conv));
        return gau.ExportOnnx(g, mixed);
    }
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using Malunet.Interop;
using static Malunet.Layers.TokenMaps;

namespace Malunet.Layers;

/// <summary>
/// The shifted MLP of UNeXt (Valanarasu and Patel, MICCAI 2022, Section 2.2, Fig. 3) on N x (H·W) x C tokens:
/// the channels are cut into five groups shifted by −2..2 pixels along the height (zero fill), a Linear layer
/// mixes the channels, a depthwise 3x3 convolution encodes position, GELU; then the same shift along the width
/// and a second Linear layer. The hidden width equals the input width (UNeXt's mlp_ratio 1).
/// </summary>
public sealed class ShiftedMlp : nn.Module<Tensor, long, long, Tensor>
{
    private const int ShiftSize = 5;

    private readonly Linear fc1;
    private readonly TokenDepthwiseConv dwconv;
    private readonly Linear fc2;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public ShiftedMlp(long channels, string name = "ShiftedMlp") : base(name)
    {
        fc1 = nn.Linear(channels, channels);
        dwconv = new TokenDepthwiseConv(channels);
        fc2 = nn.Linear(channels, channels);
        RegisterComponents();
    }

    /// <summary>Shifts channel group g of an N x C x H x W map by g − 2 pixels along <paramref name="axis"/> (2: H, 3: W), zero-filled.</summary>
    public static Tensor Shift(Tensor x, long axis)
    {
        using var scope = NewDisposeScope();
        long pad = ShiftSize / 2, h = x.shape[2], w = x.shape[3];
        var padded = F.pad(x, new[] { pad, pad, pad, pad });
        var groups = padded.chunk(ShiftSize, 1);
        var shifted = groups.Select((g, i) => torch.roll(g, i - pad, axis)).ToArray();
        return torch.cat(shifted, 1).narrow(2, pad, h).narrow(3, pad, w).MoveToOuterDisposeScope();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor tokens, long h, long w)
    {
        using var scope = NewDisposeScope();
        var x = fc1.call(ToTokens(Shift(ToMap(tokens, h, w), 2)));
        x = F.gelu(dwconv.call(x, h, w));
        return fc2.call(ToTokens(Shift(ToMap(x, h, w), 3))).MoveToOuterDisposeScope();
    }

    /// <summary>The token shift as ONNX nodes: split into groups as torch.chunk does, shift each, concatenate.</summary>
    public static string ExportShift(OnnxGraphBuilder g, string map, long channels, long axis, long h, long w)
    {
        long chunk = (channels + ShiftSize - 1) / ShiftSize;
        var sizes = new List<long>();
        for (long left = channels; left > 0; left -= chunk) sizes.Add(Math.Min(chunk, left));
        var groups = g.Nodes("Split", new[] { map, g.Int64s(sizes.ToArray()) }, sizes.Count, OnnxGraphBuilder.Int("axis", 1));
        long pad = ShiftSize / 2, size = axis == 2 ? h : w;
        var shifted = groups.Select((grp, i) => g.ShiftZeroFill(grp, axis, i - pad, size)).ToArray();
        return g.Node("Concat", shifted, OnnxGraphBuilder.Int("axis", 1));
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string ExportOnnx(OnnxGraphBuilder g, string tokens, long h, long w)
    {
        long c = fc1.in_features;
        var x = g.Linear(g.ToTokens(ExportShift(g, g.ToMap(tokens, c, h, w), c, 2, h, w), c, h, w), fc1);
        x = g.Gelu(dwconv.ExportOnnx(g, x, h, w));
        return g.Linear(g.ToTokens(ExportShift(g, g.ToMap(x, c, h, w), c, 3, h, w), c, h, w), fc2);
    }
}

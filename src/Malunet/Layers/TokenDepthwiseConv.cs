using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>
/// UNeXt's positional encoding inside the shifted MLP (Section 2.2, "DWConv"): N x (H·W) x C tokens back to a map,
/// a depthwise 3x3 convolution, and back to tokens. A block of its own so that its parameter names equal the
/// official state_dict keys (<c>mlp.dwconv.dwconv.weight</c>).
/// </summary>
public sealed class TokenDepthwiseConv : nn.Module<Tensor, long, long, Tensor>
{
    private readonly Conv2d dwconv;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public TokenDepthwiseConv(long channels, string name = "TokenDepthwiseConv") : base(name)
    {
        dwconv = nn.Conv2d(channels, channels, 3, padding: 1, groups: channels);
        RegisterComponents();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor tokens, long h, long w)
    {
        using var scope = NewDisposeScope();
        return TokenMaps.ToTokens(dwconv.call(TokenMaps.ToMap(tokens, h, w))).MoveToOuterDisposeScope();
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string ExportOnnx(Interop.OnnxGraphBuilder g, string tokens, long h, long w) =>
        g.ToTokens(g.Conv(g.ToMap(tokens, dwconv.out_channels, h, w), dwconv), dwconv.out_channels, h, w);
}

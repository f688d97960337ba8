using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>
/// Overlapping patch embedding (UNeXt, after SegFormer): a 3x3 stride-2 convolution halves the resolution and sets
/// the token width, the map is flattened to N x (H·W) x C tokens and LayerNorm-ed.
/// </summary>
public sealed class OverlapPatchEmbedding : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d proj;
    private readonly LayerNorm norm;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public OverlapPatchEmbedding(long inChannels, long embedChannels, string name = "OverlapPatchEmbedding") : base(name)
    {
        proj = nn.Conv2d(inChannels, embedChannels, 3, stride: 2, padding: 1);
        norm = nn.LayerNorm(embedChannels);
        RegisterComponents();
    }

    /// <summary>Tokens N x (H/2·W/2) x C_embed.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return norm.call(TokenMaps.ToTokens(proj.call(x))).MoveToOuterDisposeScope();
    }

    /// <summary>ONNX form for an input of <paramref name="h"/> x <paramref name="w"/> (tokens of the halved size).</summary>
    public string ExportOnnx(Interop.OnnxGraphBuilder g, string x, long h, long w) =>
        g.LayerNorm(g.ToTokens(g.Conv(x, proj), proj.out_channels, h / 2, w / 2), norm);
}

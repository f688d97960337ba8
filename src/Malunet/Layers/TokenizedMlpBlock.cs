using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>
/// UNeXt's tokenized MLP block (Fig. 3, "shiftedBlock"): tokens + ShiftedMlp(LayerNorm(tokens)), on N x (H·W) x C.
/// </summary>
public sealed class TokenizedMlpBlock : nn.Module<Tensor, long, long, Tensor>
{
    private readonly LayerNorm norm2;
    private readonly ShiftedMlp mlp;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public TokenizedMlpBlock(long channels, string name = "TokenizedMlpBlock") : base(name)
    {
        norm2 = nn.LayerNorm(channels);
        mlp = new ShiftedMlp(channels);
        RegisterComponents();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor tokens, long h, long w)
    {
        using var scope = NewDisposeScope();
        return (tokens + mlp.call(norm2.call(tokens), h, w)).MoveToOuterDisposeScope();
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string ExportOnnx(Interop.OnnxGraphBuilder g, string tokens, long h, long w) =>
        g.Add(tokens, mlp.ExportOnnx(g, g.LayerNorm(tokens, norm2), h, w));
}

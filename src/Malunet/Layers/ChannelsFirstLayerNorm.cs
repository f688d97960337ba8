using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>
/// LayerNorm over the channel axis of an N x C x H x W map, separately at every pixel (ConvNeXt's "channels_first"
/// LayerNorm, used by EGE-UNet): (x − mean_C) / √(var_C + ε), then a per-channel scale and shift.
/// </summary>
public sealed class ChannelsFirstLayerNorm : nn.Module<Tensor, Tensor>, Interop.IOnnxExportable
{
    private readonly Parameter weight;
    private readonly Parameter bias;
    private readonly double eps;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public ChannelsFirstLayerNorm(long channels, double eps = 1e-6, string name = "ChannelsFirstLayerNorm") : base(name)
    {
        weight = new Parameter(ones(channels));
        bias = new Parameter(zeros(channels));
        this.eps = eps;
        RegisterComponents();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var mean = x.mean(new long[] { 1 }, keepdim: true);
        var centred = x - mean;
        var variance = centred.pow(2).mean(new long[] { 1 }, keepdim: true);
        var normalised = centred / (variance + eps).sqrt();
        return (weight.reshape(-1, 1, 1) * normalised + bias.reshape(-1, 1, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>The ONNX form: channels-last LayerNormalization between two transposes.</summary>
    public string ExportOnnx(Interop.OnnxGraphBuilder g, string x)
    {
        var last = g.Node("Transpose", new[] { x }, Interop.OnnxGraphBuilder.Ints("perm", 0, 2, 3, 1));
        var normed = g.Node("LayerNormalization", new[] { last, g.Initializer(weight, "ln_w"), g.Initializer(bias, "ln_b") },
                            Interop.OnnxGraphBuilder.Int("axis", -1), Interop.OnnxGraphBuilder.Float("epsilon", (float)eps));
        return g.Node("Transpose", new[] { normed }, Interop.OnnxGraphBuilder.Ints("perm", 0, 3, 1, 2));
    }
}

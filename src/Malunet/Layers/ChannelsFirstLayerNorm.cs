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

    public ChannelsFirstLayerNorm(long channels, double eps = 1e-6, string name = "ChannelsFirstLayerNorm") : base(name)
    {
        weight = new Parameter(ones(channels));
        bias = new Parameter(zeros(channels));
        this.eps = eps;
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var mean = x.mean(new long[] { 1 }, keepdim: true);
        var centred = x - mean;
        var variance = centred.pow(2).mean(new long[] { 1 }, keepdim: true);
        var normalised = centred / (variance + eps).sqrt();
        return (weight.reshape(-1, 1, 1) * normalised + bias.reshape(-1, 1, 1)).MoveToOuterDisposeScope();
    }

    public string ExportOnnx(Interop.OnnxGraphBuilder g, string x) => g.ChannelsFirstLayerNorm(x, weight, bias, (float)eps);
}

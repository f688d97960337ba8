using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Models;

/// <summary>Parameter and multiply-accumulate counts of a network, as the paper (and thop 0.1.1) counts them.</summary>
public sealed record ComplexityReport(
    long Parameters,
    long ThopParameters,
    long Macs,
    long ConvLinearMacs,
    long AdaptivePoolOps,
    int Size)
{
    /// <summary>The counts as JSON.</summary>
    public JsonObject ToJson() => new()
    {
        ["parameters"] = Parameters,
        ["parameters_thop"] = ThopParameters,
        ["macs"] = Macs,
        ["macs_conv_linear_only"] = ConvLinearMacs,
        ["adaptive_pool_ops"] = AdaptivePoolOps,
        ["gmacs"] = Macs / 1e9,
        ["mparams_thop"] = ThopParameters / 1e6,
        ["input"] = new JsonArray(1, 3, Size, Size),
    };
}

/// <summary>
/// Counts what thop 0.1.1's <c>profile</c> counts, by running one forward pass with hooks on the leaf modules:
/// a convolution costs <c>out_elements · (C_in/groups) · kernel_elements</c> multiply-accumulates (no bias term),
/// a transposed convolution <c>out_elements · C_in/groups · kernel_elements</c>, a Linear <c>out_elements · in_features</c>,
/// an adaptive average pool <c>(pooled_elements + 1) · out_elements</c>, a BatchNorm or nn.LayerNorm <c>4 · in_elements</c> (2
/// without affine); GroupNorm, activations, softmax, interpolation, pooling and tensor arithmetic cost nothing, and only the
/// parameters of Conv, ConvTranspose, Linear and BatchNorm and LayerNorm (the modules thop hooks) are counted. The paper's "0.083 GFLOPs" and "0.175 M" are these MACs and parameters.
/// </summary>
public static class ModelComplexity
{
    /// <summary>Counts parameters and multiply-accumulates at 1 x C x size x size, as thop 0.1.1 counts them.</summary>
    public static ComplexityReport Measure(nn.Module<Tensor, Tensor> model, int size = 256, int inputChannels = 3)
    {
        long convLinear = 0, pool = 0, norm = 0;
        var removers = new List<Action>();
        foreach (var (_, m) in model.named_modules())
        {
            switch (m)
            {
                case Conv1d c:
                    { var h = c.register_forward_hook((_, _, y) => { convLinear += y.numel() * c.weight!.shape[1] * c.weight.shape[2]; return null!; }); removers.Add(h.remove); }
                    break;
                case Conv2d c:
                    { var h = c.register_forward_hook((_, _, y) => { convLinear += y.numel() * c.weight!.shape[1] * c.weight.shape[2] * c.weight.shape[3]; return null!; }); removers.Add(h.remove); }
                    break;
                case ConvTranspose2d t:
                    // thop: output elements x input channels x kernel elements.
                    { var h = t.register_forward_hook((_, x, y) => { convLinear += y.numel() * x.shape[1] / t.groups * t.weight!.shape[2] * t.weight.shape[3]; return null!; }); removers.Add(h.remove); }
                    break;
                case LayerNorm n:
                    // thop 0.1.1 count_normalization, as for BatchNorm.
                    { var h = n.register_forward_hook((_, x, _) => { norm += (n.weight is null ? 2 : 4) * x.numel(); return null!; }); removers.Add(h.remove); }
                    break;
                case BatchNorm2d b:
                    // thop 0.1.1 count_normalization: 2 per input element, doubled for the affine map.
                    { var h = b.register_forward_hook((_, x, _) => { norm += (b.weight is null ? 2 : 4) * x.numel(); return null!; }); removers.Add(h.remove); }
                    break;
                case Linear l:
                    { var h = l.register_forward_hook((_, _, y) => { convLinear += y.numel() * l.weight!.shape[1]; return null!; }); removers.Add(h.remove); }
                    break;
                case AdaptiveAvgPool2d p:
                {
                    var h = p.register_forward_hook((_, x, y) =>
                    {
                        double kernel = 1;
                        for (int d = 2; d < x.dim(); d++) kernel *= (double)x.shape[d] / y.shape[d];
                        pool += (long)((kernel + 1) * y.numel());
                        return null!;
                    });
                    removers.Add(h.remove);
                }
                    break;
            }
        }
        var wasTraining = model.training;
        model.eval();
        using (no_grad())
        using (var scope = NewDisposeScope())
        {
            var device = model.parameters().First().device;
            model.call(zeros(1, inputChannels, size, size, device: device));
        }
        if (wasTraining) model.train();
        foreach (var remove in removers) remove();

        long total = model.parameters().Sum(p => p.numel());
        long thop = model.named_modules()
            .Where(kv => kv.module is Conv1d or Conv2d or ConvTranspose2d or Linear or BatchNorm2d or LayerNorm)
            .Sum(kv => kv.module.parameters(recurse: false).Sum(p => p.numel()));
        return new ComplexityReport(total, thop, convLinear + pool + norm, convLinear, pool, size);
    }
}

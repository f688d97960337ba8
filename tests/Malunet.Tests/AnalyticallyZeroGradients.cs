using Malunet.Layers;
using Malunet.Models;

namespace Malunet.Tests;

/// <summary>
/// The parameters whose gradient is analytically zero: the external-attention blocks' <c>conv1.bias</c> (the spatial
/// softmax cancels a per-channel constant; the official fixture's README). Their gradients are rounding noise in
/// every code, so gradient tests treat them apart. One rule for every such test.
/// </summary>
public static class AnalyticallyZeroGradients
{
    public static bool Has(SegmentationModel model, string parameter)
    {
        const string suffix = ".conv1.bias";
        if (!parameter.EndsWith(suffix, StringComparison.Ordinal)) return false;
        var module = parameter[..^suffix.Length];
        return model.named_modules().Any(m => m.name == module && m.module is ExternalAttention);
    }
}

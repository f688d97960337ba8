using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>
/// The official <c>MALUNet._init_weights</c>, applied to every module of a network: Linear weights from a
/// truncated normal (std 0.02, cut at ±2) with zero bias; Conv1d weights from N(0, 2/(k·C_out)) with the bias left
/// at PyTorch's default; Conv2d weights from N(0, 2/(kh·kw·C_out/groups)) with zero bias; GroupNorm weight 1,
/// bias 0 (PyTorch's default, which TorchSharp 0.107 does not apply). External attention blocks then start with <c>linear_0 = linear_1ᵀ</c>. The distributions are the
/// official ones; the random streams are not (the fixture README notes that even PyTorch versions differ).
/// </summary>
public static class OfficialInit
{
    /// <summary>
    /// Fills <paramref name="t"/> from N(mean, std²) truncated to [a, b] by inverse-CDF sampling (PyTorch's and timm's
    /// algorithm). Written here because TorchSharp 0.107's native trunc_normal_ returns values near zero
    /// (std ~1e-9 measured for std 0.02).
    /// </summary>
    public static void TruncatedNormal(Tensor t, double mean, double std, double a, double b)
    {
        using var _ = torch.no_grad();
        static double Cdf(double x) => 0.5 * (1.0 + Erf(x / Math.Sqrt(2.0)));
        double lo = 2 * Cdf((a - mean) / std) - 1, hi = 2 * Cdf((b - mean) / std) - 1;
        t.uniform_(lo, hi).erfinv_().mul_(std * Math.Sqrt(2.0)).add_(mean).clamp_(a, b);
    }

    // Abramowitz-Stegun 7.1.26 is too coarse near ±1, so erf comes from a series/continued fraction pair.
    private static double Erf(double x)
    {
        double ax = Math.Abs(x);
        double r;
        if (ax < 2.5)
        {
            // Maclaurin series: erf x = 2/sqrt(pi) · Σ (-1)^n x^(2n+1) / (n! (2n+1))
            double sum = 0, term = ax;
            for (int n = 0; n < 60; n++)
            {
                sum += term / (2 * n + 1);
                term *= -ax * ax / (n + 1);
            }
            r = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            // Continued fraction for erfc at large x.
            double f = 0;
            for (int k = 60; k >= 1; k--) f = k / 2.0 / (ax + f);
            r = 1 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        }
        return x < 0 ? -r : r;
    }

    /// <summary>Initialises every module under <paramref name="root"/> as the official code does.</summary>
    public static void Apply(nn.Module root)
    {
        using var _ = torch.no_grad();
        foreach (var (_, m) in root.named_modules())
        {
            switch (m)
            {
                case GroupNorm norm:
                    // PyTorch's default (weight 1, bias 0) set explicitly: TorchSharp 0.107's GroupNorm leaves its
                    // affine parameters uninitialised (garbage, even NaN, measured).
                    if (norm.weight is not null) nn.init.ones_(norm.weight);
                    if (norm.bias is not null) nn.init.zeros_(norm.bias);
                    break;
                case Linear linear:
                    TruncatedNormal(linear.weight!, 0.0, 0.02, -2.0, 2.0);
                    if (linear.bias is not null) nn.init.zeros_(linear.bias);
                    break;
                case Conv1d conv:
                    nn.init.normal_(conv.weight, 0.0, Math.Sqrt(2.0 / (conv.weight!.shape[2] * conv.weight.shape[0])));
                    break;
                case Conv2d conv:
                {
                    var w = conv.weight!;
                    long groups = conv.in_channels / w.shape[1];
                    double fanOut = w.shape[2] * w.shape[3] * w.shape[0] / groups;
                    nn.init.normal_(w, 0.0, Math.Sqrt(2.0 / Math.Floor(fanOut)));
                    if (conv.bias is not null) nn.init.zeros_(conv.bias);
                    break;
                }
            }
        }
        foreach (var (_, m) in root.named_modules())
            if (m is ExternalAttention ea) ea.TieInitialMemoryUnits();
    }
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>
/// The official <c>MALUNet._init_weights</c>, applied to every module of a network: Linear weights from a
/// truncated normal (std 0.02, cut at ±2) with zero bias; Conv1d weights from N(0, 2/(k·C_out)) with the bias left
/// at PyTorch's default; Conv2d weights from N(0, 2/(kh·kw·C_out/groups)) with zero bias; GroupNorm keeps weight 1,
/// bias 0. External attention blocks then start with <c>linear_0 = linear_1ᵀ</c>. The distributions are the
/// official ones; the random streams are not (the fixture README notes that even PyTorch versions differ).
/// </summary>
public static class OfficialInit
{
    public static void Apply(nn.Module root)
    {
        using var _ = torch.no_grad();
        foreach (var (_, m) in root.named_modules())
        {
            switch (m)
            {
                case Linear linear:
                    nn.init.trunc_normal_(linear.weight, 0.0, 0.02, -2.0, 2.0);
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

using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>UNeXt's two views of a feature map: N x C x H x W, and N x (H·W) x C tokens (row-major pixels).</summary>
public static class TokenMaps
{
    /// <summary>N x C x H x W maps as N x HW x C tokens.</summary>
    public static Tensor ToTokens(Tensor map) => map.flatten(2).transpose(1, 2);

    /// <summary>N x HW x C tokens back to N x C x H x W maps.</summary>
    public static Tensor ToMap(Tensor tokens, long h, long w) =>
        tokens.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], h, w);
}

namespace Malunet.Models;

/// <summary>The input size of the paper's networks: 256 x 256 RGB images (MALUNet's recipe; EGE-UNet's and UNeXt's too).</summary>
public static class NetworkInput
{
    /// <summary>Pixels on each side of the network input.</summary>
    public const int DefaultSize = 256;
}

using Malunet.Data;

namespace Malunet.Inference;

/// <summary>Turns probability maps into the files users open: binary mask, probability and contour-overlay PNGs.</summary>
public static class MaskOutputs
{
    /// <summary>A binary mask as an 8-bit gray image: 255 for lesion, 0 for background.</summary>
    public static Image8 MaskImage(bool[] mask, int width, int height)
    {
        var px = new byte[mask.Length];
        for (int i = 0; i < px.Length; i++) px[i] = mask[i] ? (byte)255 : (byte)0;
        return new Image8(width, height, 1, px);
    }

    /// <summary>Probabilities as an 8-bit gray image: round(255·p).</summary>
    public static Image8 ProbabilityImage(float[] probabilities, int width, int height)
    {
        var px = new byte[probabilities.Length];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)Math.Clamp(Math.Round(probabilities[i] * 255), 0, 255);
        return new Image8(width, height, 1, px);
    }

    public static void SaveMask(bool[] mask, int width, int height, string path) =>
        ImageDecoder.SavePng(MaskImage(mask, width, height), path);

    public static void SaveProbabilities(float[] probabilities, int width, int height, string path) =>
        ImageDecoder.SavePng(ProbabilityImage(probabilities, width, height), path);

    /// <summary>Writes <see cref="Overlay"/> as a JPEG (quality 90) when the path ends in .jpg or .jpeg, else as a PNG.</summary>
    public static void SaveOverlay(Image8 rgb, bool[] mask, string path)
    {
        var overlay = Overlay(rgb, mask);
        if (path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            ImageDecoder.SaveJpeg(overlay, path);
        else ImageDecoder.SavePng(overlay, path);
    }

    /// <summary>The image with the lesion contour drawn in green, the line about 1/250 of the shorter side wide.</summary>
    public static Image8 Overlay(Image8 rgb, bool[] mask)
    {
        int w = rgb.Width, h = rgb.Height;
        if (rgb.Channels != 3 || mask.Length != w * h) throw new ArgumentException("overlay needs an RGB image and a mask of its size");
        var px = (byte[])rgb.Pixels.Clone();
        int r = Math.Max(1, Math.Min(w, h) / 500);
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            int i = y * w + x;
            if (!mask[i]) continue;
            bool edge = x == 0 || y == 0 || x == w - 1 || y == h - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w];
            if (!edge) continue;
            for (int dy = -r; dy <= r; dy++)
            for (int dx = -r; dx <= r; dx++)
            {
                int xx = x + dx, yy = y + dy;
                if ((uint)xx >= (uint)w || (uint)yy >= (uint)h) continue;
                int o = (yy * w + xx) * 3;
                px[o] = 0; px[o + 1] = 255; px[o + 2] = 0;
            }
        }
        return new Image8(w, h, 3, px);
    }
}

using System.Runtime.CompilerServices;
using Malunet.Data;
using Malunet.Evaluation;

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

    public static void SaveProbabilities(float[] probabilities, int width, int height, string path) =>
        ImageDecoder.SavePng(ProbabilityImage(probabilities, width, height), path);

    /// <summary>
    /// Draws the contour of <paramref name="mask"/> (0/255, the image's size) on <paramref name="image"/> (RGB or RGBA,
    /// changed in place) and writes it: a JPEG (quality 90) when the path ends in .jpg or .jpeg, else a PNG.
    /// </summary>
    public static void SaveOverlay(Image8 image, byte[] mask, string path)
    {
        DrawContour(image, mask);
        if (path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            ImageDecoder.SaveJpeg(image, path);
        else ImageDecoder.SavePng(image, path);
    }

    /// <summary>
    /// Draws the lesion contour in green on the image, in place: every mask pixel with a background 4-neighbour (or on
    /// the image border), widened to a line about 1/250 of the shorter side.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DrawContour(Image8 image, byte[] mask)
    {
        int w = image.Width, h = image.Height, c = image.Channels;
        if (c < 3 || mask.Length != w * h) throw new ArgumentException("a contour needs an RGB(A) image and a mask of its size");
        var px = image.Pixels;
        int r = Math.Max(1, Math.Min(w, h) / 500);
        var edges = new byte[w];
        for (int y = 0; y < h; y++)
        {
            var row = mask.AsSpan(y * w, w);
            if (!row.ContainsAnyExcept((byte)0)) continue;
            MaskBoundary.Row(mask, w, h, y, edges);
            for (int x = edges.AsSpan().IndexOfAnyExcept((byte)0); x >= 0;)
            {
                for (int yy = Math.Max(0, y - r); yy <= Math.Min(h - 1, y + r); yy++)
                for (int xx = Math.Max(0, x - r); xx <= Math.Min(w - 1, x + r); xx++)
                {
                    int o = (yy * w + xx) * c;
                    px[o] = 0; px[o + 1] = 255; px[o + 2] = 0;
                }
                int next = edges.AsSpan(x + 1).IndexOfAnyExcept((byte)0);
                x = next < 0 ? -1 : x + 1 + next;
            }
        }
    }
}

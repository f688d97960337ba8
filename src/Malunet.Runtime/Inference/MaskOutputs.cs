using System.Runtime.CompilerServices;
using Malunet.Data;
using Malunet.Evaluation;
using SkiaSharp;

namespace Malunet.Inference;

/// <summary>
/// Turns probability maps into the files users open: binary mask, probability and contour-overlay PNGs; for
/// multi-class networks a class-index mask and a colour overlay with a legend.
/// </summary>
public static class MaskOutputs
{
    /// <summary>A binary mask as an 8-bit gray image: 255 for lesion, 0 for background.</summary>
    public static Image8 MaskImage(bool[] mask, int width, int height)
    {
        var px = new byte[mask.Length];
        for (int i = 0; i < px.Length; i++) px[i] = mask[i] ? (byte)255 : (byte)0;
        return new Image8(width, height, 1, px);
    }

    /// <summary>
    /// The lesion (foreground) probability of each pixel of a network's output for one image: the map itself for one
    /// class, 1 - p(class 0) of the first plane for K classes. The probability PNGs and heat maps show this.
    /// </summary>
    public static float[] Foreground(float[] probabilities, int classes, int plane)
    {
        if (classes == 1) return probabilities;
        var foreground = new float[plane];
        for (int i = 0; i < plane; i++) foreground[i] = 1 - probabilities[i];
        return foreground;
    }

    /// <summary>Probabilities as an 8-bit gray image: round(255·p).</summary>
    public static Image8 ProbabilityImage(float[] probabilities, int width, int height)
    {
        var px = new byte[probabilities.Length];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)Math.Clamp(Math.Round(probabilities[i] * 255), 0, 255);
        return new Image8(width, height, 1, px);
    }

    /// <summary>Writes probabilities as an 8-bit PNG (<see cref="ProbabilityImage"/>).</summary>
    public static void SaveProbabilities(float[] probabilities, int width, int height, string path) =>
        ImageDecoder.SavePng(ProbabilityImage(probabilities, width, height), path);

    /// <summary>
    /// Draws the contour of <paramref name="mask"/> (0/255, the image's size) on <paramref name="image"/> (RGB or RGBA,
    /// changed in place) and writes it: a JPEG (quality 90) when the path ends in .jpg or .jpeg, else a PNG.
    /// </summary>
    public static void SaveOverlay(Image8 image, byte[] mask, string path)
    {
        DrawContour(image, mask);
        SaveForEyes(image, path);
    }

    private static void SaveForEyes(Image8 image, string path)
    {
        if (path.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            ImageDecoder.SaveJpeg(image, path);
        else ImageDecoder.SavePng(image, path);
    }

    /// <summary>Pixels of each class 0..K-1 in a class map (index = class), for summary rows and the serve API.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // a full-resolution map is millions of pixels
    public static long[] CountClasses(byte[] labels, int classes)
    {
        var counts = new long[classes];
        foreach (var v in labels) counts[v]++;
        return counts;
    }

    /// <summary>
    /// The colour of class <paramref name="c"/> (1..255) in overlays and on the serve page: green for class 1, as the
    /// binary contour, then magenta, yellow, cyan, orange, azure, red and violet; further classes step round the hue
    /// circle by the golden angle.
    /// </summary>
    public static (byte R, byte G, byte B) ClassColour(int c)
    {
        (byte, byte, byte)[] first = { (0, 255, 0), (255, 0, 255), (255, 255, 0), (0, 255, 255), (255, 128, 0), (0, 128, 255), (255, 0, 0), (128, 0, 255) };
        if (c >= 1 && c <= first.Length) return first[c - 1];
        var colour = SKColor.FromHsv((float)(c * 137.508 % 360), 100, 100);
        return (colour.Red, colour.Green, colour.Blue);
    }

    /// <summary>
    /// The multi-class overlay, drawn on <paramref name="image"/> (RGB or RGBA, in place) and written as
    /// <see cref="SaveOverlay"/> writes: each class's pixels tinted with its colour (30%), its outline drawn in that colour,
    /// and a legend of the classes in the top-left corner.
    /// </summary>
    public static void SaveClassOverlay(Image8 image, byte[] labels, int classes, string path, IReadOnlyList<string>? names = null)
    {
        DrawClasses(image, labels, classes, names);
        SaveForEyes(image, path);
    }

    /// <summary>The drawing of <see cref="SaveClassOverlay"/>, in place.</summary>
    public static void DrawClasses(Image8 image, byte[] labels, int classes, IReadOnlyList<string>? names = null)
    {
        int w = image.Width, h = image.Height, ch = image.Channels;
        if (ch < 3 || labels.Length != w * h) throw new ArgumentException("a class overlay needs an RGB(A) image and a label map of its size");
        var px = image.Pixels;
        var colours = Enumerable.Range(0, classes).Select(ClassColour).ToArray();
        for (int i = 0; i < labels.Length; i++)
        {
            int c = labels[i];
            if (c == 0) continue;
            var (r, g, b) = colours[c];
            int o = i * ch;
            px[o] = (byte)((7 * px[o] + 3 * r + 5) / 10); px[o + 1] = (byte)((7 * px[o + 1] + 3 * g + 5) / 10); px[o + 2] = (byte)((7 * px[o + 2] + 3 * b + 5) / 10);
        }
        var mask = new byte[labels.Length];
        for (int c = 1; c < classes; c++)
        {
            bool any = false;
            for (int i = 0; i < labels.Length; i++) { bool on = labels[i] == c; mask[i] = on ? (byte)255 : (byte)0; any |= on; }
            if (any) DrawContour(image, mask, colours[c]);
        }
        DrawLegend(image, classes, colours, names);
    }

    /// <summary>
    /// A box with one coloured square and name per foreground class, scaled to the image. Drawn by Skia on a copy of
    /// the image's top-left corner only, which is then copied back.
    /// </summary>
    private static void DrawLegend(Image8 image, int classes, (byte R, byte G, byte B)[] colours, IReadOnlyList<string>? names)
    {
        float size = Math.Clamp(Math.Min(image.Width, image.Height) / 28f, 11, 48), pad = size / 2;
        using var font = new SKFont(SKTypeface.Default, size);
        var labels = Enumerable.Range(1, classes - 1).Select(c => names != null && c < names.Count ? names[c] : $"class {c}").ToList();
        int boxRight = (int)Math.Ceiling(pad + labels.Max(l => font.MeasureText(l)) + size * 1.5f + 2 * pad);
        int boxBottom = (int)Math.Ceiling(pad + labels.Count * size * 1.3f + pad);
        int w = Math.Min(image.Width, boxRight + 1), h = Math.Min(image.Height, boxBottom + 1), ch = image.Channels;
        using var corner = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var span = corner.GetPixelSpan();
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = (y * image.Width + x) * ch, d = 4 * (y * w + x);
                span[d] = image.Pixels[o]; span[d + 1] = image.Pixels[o + 1]; span[d + 2] = image.Pixels[o + 2]; span[d + 3] = 255;
            }
        using (var canvas = new SKCanvas(corner))
        {
            using var text = new SKPaint { Color = SKColors.White, IsAntialias = true };
            using var box = new SKPaint { Color = new SKColor(0, 0, 0, 160) };
            canvas.DrawRect(pad, pad, boxRight - pad, boxBottom - pad, box);
            for (int k = 0; k < labels.Count; k++)
            {
                float top = 1.5f * pad + k * size * 1.3f;
                var (r, g, b) = colours[k + 1];
                using var swatch = new SKPaint { Color = new SKColor(r, g, b) };
                canvas.DrawRect(2 * pad, top, size, size, swatch);
                canvas.DrawText(labels[k], 2 * pad + size * 1.5f, top + size * 0.85f, font, text);
            }
        }
        span = corner.GetPixelSpan();
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int o = (y * image.Width + x) * ch, d = 4 * (y * w + x);
                image.Pixels[o] = span[d]; image.Pixels[o + 1] = span[d + 1]; image.Pixels[o + 2] = span[d + 2];
            }
    }

    /// <summary>
    /// Draws the lesion contour in green on the image, in place: every mask pixel with a background 4-neighbour (or on
    /// the image border), widened to a line about 1/250 of the shorter side.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DrawContour(Image8 image, byte[] mask) => DrawContour(image, mask, (0, 255, 0));

    /// <summary>As <see cref="DrawContour(Image8, byte[])"/>, in the given colour.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DrawContour(Image8 image, byte[] mask, (byte R, byte G, byte B) colour)
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
                    px[o] = colour.R; px[o + 1] = colour.G; px[o + 2] = colour.B;
                }
                int next = edges.AsSpan(x + 1).IndexOfAnyExcept((byte)0);
                x = next < 0 ? -1 : x + 1 + next;
            }
        }
    }
}

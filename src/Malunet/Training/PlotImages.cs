using SkiaSharp;

namespace Malunet.Training;

/// <summary>Joins rendered plots (PNG bytes) into one figure.</summary>
internal static class PlotImages
{
    /// <summary>Two PNGs side by side on white, as one PNG.</summary>
    public static byte[] SideBySide(byte[] leftPng, byte[] rightPng)
    {
        using var l = SKBitmap.Decode(leftPng);
        using var r = SKBitmap.Decode(rightPng);
        using var both = new SKBitmap(l.Width + r.Width, Math.Max(l.Height, r.Height));
        using (var canvas = new SKCanvas(both))
        {
            canvas.Clear(SKColors.White);
            canvas.DrawBitmap(l, 0, 0);
            canvas.DrawBitmap(r, l.Width, 0);
        }
        using var img = SKImage.FromBitmap(both);
        using var data = img.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}

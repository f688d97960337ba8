using SkiaSharp;

namespace Malunet.Data;

/// <summary>
/// Writes a small dermoscopy-like dataset in the plain layout (<c>images/*.jpg</c>, <c>masks/*_segmentation.png</c>):
/// a smooth skin-coloured background with noise and a darker, irregular lesion (a perturbed ellipse) whose mask is
/// binary. Used by <c>malunet demo</c> and by tests, so that nothing needs to be downloaded.
/// </summary>
public static class SyntheticLesions
{
    /// <summary>Writes <paramref name="count"/> synthetic lesion images with masks under <paramref name="root"/>; returns their ids.</summary>
    public static IReadOnlyList<string> Write(string root, int count, int size = 256, int seed = 7) =>
        WriteSet(root, count, size, seed, "SYN", 92, Render);

    /// <summary>Images (JPEG) and masks (8-bit gray PNG) in the plain layout, each pair drawn from its own seeded random source.</summary>
    private static IReadOnlyList<string> WriteSet(string root, int count, int size, int seed, string prefix, int quality,
                                                  Func<Random, int, (byte[] Rgb, byte[] Mask)> render)
    {
        var imageDir = Path.Combine(root, "images");
        var maskDir = Path.Combine(root, "masks");
        Directory.CreateDirectory(imageDir);
        Directory.CreateDirectory(maskDir);
        var ids = new List<string>();
        for (int n = 0; n < count; n++)
        {
            var id = $"{prefix}_{n:D4}";
            var (rgb, mask) = render(new Random(seed * 7919 + n), size);
            ImageDecoder.SaveJpeg(new Image8(size, size, 3, rgb), Path.Combine(imageDir, id + ".jpg"), quality);
            ImageDecoder.SavePng(new Image8(size, size, 1, mask), Path.Combine(maskDir, id + "_segmentation.png"));
            ids.Add(id);
        }
        return ids;
    }

    /// <summary>One image (RGB bytes) and its binary mask (0/255).</summary>
    public static (byte[] Rgb, byte[] Mask) Render(Random rng, int size)
    {
        double cx = size * (0.3 + 0.4 * rng.NextDouble()), cy = size * (0.3 + 0.4 * rng.NextDouble());
        double rx = size * (0.12 + 0.15 * rng.NextDouble()), ry = size * (0.12 + 0.15 * rng.NextDouble());
        double angle = Math.PI * rng.NextDouble();
        var wobble = Enumerable.Range(0, 5).Select(_ => (A: 0.05 + 0.08 * rng.NextDouble(), P: rng.NextDouble() * 2 * Math.PI)).ToArray();
        double[] skin = { 200 + 30 * rng.NextDouble(), 150 + 30 * rng.NextDouble(), 130 + 30 * rng.NextDouble() };
        double[] dark = { 0.45 + 0.15 * rng.NextDouble(), 0.35 + 0.15 * rng.NextDouble(), 0.30 + 0.15 * rng.NextDouble() };
        double gx = rng.NextDouble() - 0.5, gy = rng.NextDouble() - 0.5;
        var rgb = new byte[size * size * 3];
        var mask = new byte[size * size];
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            double dx = x - cx, dy = y - cy;
            double u = (dx * Math.Cos(angle) + dy * Math.Sin(angle)) / rx;
            double v = (-dx * Math.Sin(angle) + dy * Math.Cos(angle)) / ry;
            double theta = Math.Atan2(v, u), r = Math.Sqrt(u * u + v * v);
            double edge = 1 + wobble.Select((w, k) => w.A * Math.Sin((k + 2) * theta + w.P)).Sum();
            bool inside = r <= edge;
            mask[y * size + x] = inside ? (byte)255 : (byte)0;
            double shade = 1 + 0.15 * (gx * (x - size / 2.0) + gy * (y - size / 2.0)) / size;
            for (int c = 0; c < 3; c++)
            {
                double value = skin[c] * shade * (inside ? dark[c] * (0.9 + 0.2 * r / edge) : 1) + 12 * (rng.NextDouble() - 0.5);
                rgb[(y * size + x) * 3 + c] = (byte)Math.Clamp(Math.Round(value), 0, 255);
            }
        }
        return (rgb, mask);
    }

    /// <summary>
    /// A multi-class set in the plain layout for <c>--num-classes 3</c>: on the same skin background, a brown disc
    /// (class 1) and a blue-grey square (class 2), each present with probability 0.8, so the class of a pixel is
    /// decidable from its colour; the masks are 8-bit gray PNGs holding 0, 1 and 2.
    /// </summary>
    public static IReadOnlyList<string> WriteClasses(string root, int count, int size = 128, int seed = 11) =>
        WriteSet(root, count, size, seed, "CLS", 95, RenderClasses);

    /// <summary>One image of <see cref="WriteClasses"/> (RGB bytes) and its class map (0, 1, 2).</summary>
    public static (byte[] Rgb, byte[] Labels) RenderClasses(Random rng, int size)
    {
        var rgb = new byte[size * size * 3];
        var labels = new byte[size * size];
        double[] skin = { 205 + 20 * rng.NextDouble(), 160 + 20 * rng.NextDouble(), 140 + 20 * rng.NextDouble() };
        // The disc in the left half, the square in the right half, so they never overlap.
        bool disc = rng.NextDouble() < 0.8, square = rng.NextDouble() < 0.8;
        double dx0 = size * (0.15 + 0.2 * rng.NextDouble()), dy0 = size * (0.25 + 0.5 * rng.NextDouble()), dr = size * (0.08 + 0.07 * rng.NextDouble());
        double sx0 = size * (0.65 + 0.15 * rng.NextDouble()), sy0 = size * (0.25 + 0.5 * rng.NextDouble()), sh = size * (0.07 + 0.07 * rng.NextDouble());
        for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++)
        {
            int i = y * size + x;
            byte label = disc && (x - dx0) * (x - dx0) + (y - dy0) * (y - dy0) <= dr * dr ? (byte)1
                       : square && Math.Abs(x - sx0) <= sh && Math.Abs(y - sy0) <= sh ? (byte)2 : (byte)0;
            labels[i] = label;
            double[] colour = label switch { 1 => new[] { 110.0, 60, 35 }, 2 => new[] { 90.0, 110, 170 }, _ => skin };
            for (int c = 0; c < 3; c++)
                rgb[3 * i + c] = (byte)Math.Clamp(Math.Round(colour[c] + 14 * (rng.NextDouble() - 0.5)), 0, 255);
        }
        return (rgb, labels);
    }
}

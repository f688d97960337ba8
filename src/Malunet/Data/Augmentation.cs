namespace Malunet.Data;

/// <summary>The random transform of one training sample.</summary>
public sealed record AugmentationDraw(bool HorizontalFlip, bool VerticalFlip, double? RotationDegrees);

/// <summary>
/// The paper's augmentation: horizontal flip (p 0.5), vertical flip (p 0.5), rotation (p 0.5) by an angle drawn
/// uniformly from [0, 360) <b>for every sample</b> (the official code draws a single angle per run, a bug not
/// copied). The image and its mask get the same transform; the rotation fills with 0 as the official
/// <c>TF.rotate</c>, bilinear for the image and nearest for the mask, about the image centre.
/// <para>
/// Plain C# on the preprocessed arrays, run on the batch-preparing worker thread: calling libtorch from a second
/// thread would make two OpenMP teams fight over the cores (measured: 14 instead of 21 images/s). The sampling
/// follows <c>affine_grid</c>/<c>grid_sample</c> with <c>align_corners=False</c>, so right-angle rotations and flips
/// are exact permutations.
/// </para>
/// </summary>
public static class Augmentation
{
    public static AugmentationDraw Draw(Random rng, double flipP = 0.5, double rotateP = 0.5) =>
        new(rng.NextDouble() < flipP, rng.NextDouble() < flipP, rng.NextDouble() < rotateP ? rng.NextDouble() * 360.0 : null);

    /// <summary>Transforms one sample: a C x H x W image and an H x W mask (row-major), returning new arrays.</summary>
    public static (float[] Image, float[] Mask) Apply(float[] image, float[] mask, int channels, int height, int width, AugmentationDraw d)
    {
        var outImage = new float[image.Length];
        var outMask = new float[mask.Length];
        Apply(image, mask, outImage, outMask, channels, height, width, d);
        return (outImage, outMask);
    }

    /// <summary>Transforms one sample from <paramref name="image"/>/<paramref name="mask"/> into the output spans (which must not overlap them).</summary>
    public static void Apply(ReadOnlySpan<float> image, ReadOnlySpan<float> mask, Span<float> outImage, Span<float> outMask,
                             int channels, int height, int width, AugmentationDraw d)
    {
        int plane = height * width;
        if (d.RotationDegrees is not { } deg)
        {
            for (int y = 0; y < height; y++)
            {
                int sy = d.VerticalFlip ? height - 1 - y : y;
                for (int x = 0; x < width; x++)
                {
                    int sx = d.HorizontalFlip ? width - 1 - x : x;
                    int s = sy * width + sx, o = y * width + x;
                    for (int c = 0; c < channels; c++) outImage[c * plane + o] = image[c * plane + s];
                    outMask[o] = mask[s];
                }
            }
            return;
        }
        // Output pixel -> source position, in normalised coordinates as affine_grid (aspect-corrected rotation).
        double a = deg * Math.PI / 180.0, cos = Math.Cos(a), sin = Math.Sin(a), ar = (double)width / height;
        for (int y = 0; y < height; y++)
        {
            double yn = (2.0 * y + 1) / height - 1;
            for (int x = 0; x < width; x++)
            {
                double xn = (2.0 * x + 1) / width - 1;
                double sxn = cos * xn - sin / ar * yn, syn = sin * ar * xn + cos * yn;
                double fx = ((sxn + 1) * width - 1) / 2, fy = ((syn + 1) * height - 1) / 2;
                // The flips are applied before the rotation, so they act on the source position.
                if (d.HorizontalFlip) fx = width - 1 - fx;
                if (d.VerticalFlip) fy = height - 1 - fy;
                int o = y * width + x;
                // Image: bilinear, zero outside.
                int x0 = (int)Math.Floor(fx), y0 = (int)Math.Floor(fy);
                double wx = fx - x0, wy = fy - y0;
                for (int c = 0; c < channels; c++)
                {
                    int off = c * plane;
                    double v = 0;
                    if ((uint)y0 < (uint)height)
                    {
                        if ((uint)x0 < (uint)width) v += (1 - wx) * (1 - wy) * image[off + y0 * width + x0];
                        if ((uint)(x0 + 1) < (uint)width) v += wx * (1 - wy) * image[off + y0 * width + x0 + 1];
                    }
                    if ((uint)(y0 + 1) < (uint)height)
                    {
                        if ((uint)x0 < (uint)width) v += (1 - wx) * wy * image[off + (y0 + 1) * width + x0];
                        if ((uint)(x0 + 1) < (uint)width) v += wx * wy * image[off + (y0 + 1) * width + x0 + 1];
                    }
                    outImage[off + o] = (float)v;
                }
                // Mask: nearest (round half to even, as grid_sample's nearbyint), zero outside.
                int nx = (int)Math.Round(fx, MidpointRounding.ToEven), ny = (int)Math.Round(fy, MidpointRounding.ToEven);
                outMask[o] = (uint)nx < (uint)width && (uint)ny < (uint)height ? mask[ny * width + nx] : 0f;
            }
        }
    }
}

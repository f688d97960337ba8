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
    /// <summary>One random draw of the training augmentation: each flip and the rotation with their probabilities.</summary>
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
        // The source position is linear in x along a row, so it is stepped rather than recomputed.
        double a = deg * Math.PI / 180.0, cos = Math.Cos(a), sin = Math.Sin(a), ar = (double)width / height;
        double stepX = cos * 2.0 / width * width / 2, stepY = sin * ar * 2.0 / width * height / 2;
        if (d.HorizontalFlip) stepX = -stepX;
        if (d.VerticalFlip) stepY = -stepY;
        for (int y = 0; y < height; y++)
        {
            double yn = (2.0 * y + 1) / height - 1, xn0 = 1.0 / width - 1;
            double sxn = cos * xn0 - sin / ar * yn, syn = sin * ar * xn0 + cos * yn;
            double fx = ((sxn + 1) * width - 1) / 2, fy = ((syn + 1) * height - 1) / 2;
            // The flips are applied before the rotation, so they act on the source position.
            if (d.HorizontalFlip) fx = width - 1 - fx;
            if (d.VerticalFlip) fy = height - 1 - fy;
            for (int x = 0; x < width; x++, fx += stepX, fy += stepY)
            {
                int o = y * width + x;
                // Image: bilinear, zero outside.
                int x0 = (int)Math.Floor(fx), y0 = (int)Math.Floor(fy);
                float wx = (float)(fx - x0), wy = (float)(fy - y0);
                bool xa = (uint)x0 < (uint)width, xb = (uint)(x0 + 1) < (uint)width;
                bool ya = (uint)y0 < (uint)height, yb = (uint)(y0 + 1) < (uint)height;
                float w00 = xa && ya ? (1 - wx) * (1 - wy) : 0, w01 = xb && ya ? wx * (1 - wy) : 0;
                float w10 = xa && yb ? (1 - wx) * wy : 0, w11 = xb && yb ? wx * wy : 0;
                int i00 = ya ? y0 * width : 0, i10 = yb ? (y0 + 1) * width : 0;
                int c0 = xa ? x0 : 0, c1 = xb ? x0 + 1 : 0;
                for (int c = 0, off = 0; c < channels; c++, off += plane)
                    outImage[off + o] = w00 * image[off + i00 + c0] + w01 * image[off + i00 + c1]
                                      + w10 * image[off + i10 + c0] + w11 * image[off + i10 + c1];
                // Mask: nearest (round half to even, as grid_sample's nearbyint), zero outside.
                int nx = (int)Math.Round(fx, MidpointRounding.ToEven), ny = (int)Math.Round(fy, MidpointRounding.ToEven);
                outMask[o] = (uint)nx < (uint)width && (uint)ny < (uint)height ? mask[ny * width + nx] : 0f;
            }
        }
    }
}

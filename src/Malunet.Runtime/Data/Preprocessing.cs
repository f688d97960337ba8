namespace Malunet.Data;

/// <summary>
/// The official test-time preprocessing, reduced to what it computes. The official code standardises each image
/// with the dataset's mean and std, then min-max scales that image (over all pixels and channels) to 0..255. The
/// min-max step undoes any affine standardisation, so the mean and std cancel out: the network input is simply
/// <c>255·(x - min)/(max - min)</c> per image. (The official code normalises before resizing; here images are
/// resized first, which can only shift the extremes of strongly resampled images.) A constant image maps to 0.
/// Binary masks become 0..1; class-index masks keep their indices.
/// </summary>
public static class Preprocessing
{
    /// <summary>Writes one HWC RGB byte image as CHW floats scaled to 0..255 by its own min and max.</summary>
    public static void ImageToInput(ReadOnlySpan<byte> hwc, int width, int height, Span<float> chw)
    {
        byte min = 255, max = 0;
        foreach (var v in hwc) { if (v < min) min = v; if (v > max) max = v; }
        float scale = max > min ? 255f / (max - min) : 0f;
        int plane = width * height;
        for (int i = 0; i < plane; i++)
        {
            chw[i] = (hwc[3 * i] - min) * scale;
            chw[plane + i] = (hwc[3 * i + 1] - min) * scale;
            chw[2 * plane + i] = (hwc[3 * i + 2] - min) * scale;
        }
    }

    /// <summary>One sample's network input (3 x S x S) and mask (S x S, 0..1) written into the given spans.</summary>
    public static void Write(CachedSample sample, Span<float> image, Span<float> mask)
    {
        int s = sample.Size, plane = s * s;
        ImageToInput(sample.Image, s, s, image[..(3 * plane)]);
        MaskToTarget(sample, mask[..plane]);
    }

    /// <summary>A cached mask (bytes) as a training target: 0..1 for a binary mask, the class index for a class-index mask.</summary>
    public static void MaskToTarget(CachedSample sample, Span<float> target)
    {
        var m = sample.Mask ?? throw new InvalidDataException($"{sample.Id}: no mask");
        if (sample.MaskHoldsClassIndices) for (int i = 0; i < target.Length; i++) target[i] = m[i];
        else for (int i = 0; i < target.Length; i++) target[i] = m[i] / 255f;
    }

    /// <summary>A B x 3 x S x S input batch from cached samples.</summary>
    public static float[] Images(IReadOnlyList<CachedSample> samples)
    {
        int s = samples[0].Size, plane = 3 * s * s;
        var x = new float[samples.Count * plane];
        for (int b = 0; b < samples.Count; b++)
            ImageToInput(samples[b].Image, s, s, x.AsSpan(b * plane, plane));
        return x;
    }
}

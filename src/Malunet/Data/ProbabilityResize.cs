namespace Malunet.Data;

/// <summary>
/// Brings a network-size probability map back to an image's size: bilinear with pixel centres aligned (as
/// <c>F.interpolate(align_corners=False)</c> and Skia), in plain C# so that very large outputs (6000x4000) cost no
/// more than the output array. <see cref="ResizeToMask"/> thresholds on the fly, so a mask never needs the float
/// map (24 MB for a 6-megapixel image).
/// </summary>
public static class ProbabilityResize
{
    /// <summary>The whole map resized to <paramref name="dw"/> x <paramref name="dh"/>.</summary>
    public static float[] Resize(float[] src, int sw, int sh, int dw, int dh) => ResizeWindow(src, sw, sh, dw, dh, 0, 0, dw, dh);

    /// <summary>The part <c>[wx, wx+ww) x [wy, wy+wh)</c> of <see cref="Resize"/>'s output, computed alone.</summary>
    public static float[] ResizeWindow(float[] src, int sw, int sh, int dw, int dh, int wx, int wy, int ww, int wh)
    {
        var dst = new float[(long)ww * wh];
        Interpolate(src, sw, sh, dw, dh, wx, wy, ww, wh, new FloatSink(dst));
        return dst;
    }

    /// <summary>
    /// The mask of <see cref="Resize"/>'s output, 255 where the probability is at least <paramref name="threshold"/>
    /// (the rule of <c>MaskMetrics.Threshold</c>) and 0 elsewhere, as 8-bit gray pixels.
    /// </summary>
    public static byte[] ResizeToMask(float[] src, int sw, int sh, int dw, int dh, double threshold)
    {
        var dst = new byte[(long)dw * dh];
        Interpolate(src, sw, sh, dw, dh, 0, 0, dw, dh, new MaskSink(dst, threshold));
        return dst;
    }

    private interface ISink { void Put(long index, float value); }

    private readonly struct FloatSink(float[] dst) : ISink
    {
        public void Put(long index, float value) => dst[index] = value;
    }

    private readonly struct MaskSink(byte[] dst, double threshold) : ISink
    {
        public void Put(long index, float value) => dst[index] = value >= threshold ? (byte)255 : (byte)0;
    }

    // One kernel for every output kind: the sink is a struct, so the JIT compiles a copy per kind with no call cost.
    private static void Interpolate<TSink>(float[] src, int sw, int sh, int dw, int dh, int wx, int wy, int ww, int wh, TSink sink)
        where TSink : struct, ISink
    {
        var x0 = new int[ww]; var x1 = new int[ww]; var fx = new float[ww];
        for (int x = 0; x < ww; x++)
        {
            double s = Math.Max(0, (wx + x + 0.5) * sw / dw - 0.5);
            int i = Math.Min((int)s, sw - 1);
            x0[x] = i; x1[x] = Math.Min(i + 1, sw - 1); fx[x] = (float)(s - i);
        }
        Parallel.For(0, wh, y =>
        {
            double s = Math.Max(0, (wy + y + 0.5) * sh / dh - 0.5);
            int j = Math.Min((int)s, sh - 1), j1 = Math.Min(j + 1, sh - 1);
            float fy = (float)(s - j);
            int r0 = j * sw, r1 = j1 * sw;
            long o = (long)y * ww;
            for (int x = 0; x < ww; x++)
            {
                float top = src[r0 + x0[x]] + (src[r0 + x1[x]] - src[r0 + x0[x]]) * fx[x];
                float bottom = src[r1 + x0[x]] + (src[r1 + x1[x]] - src[r1 + x0[x]]) * fx[x];
                sink.Put(o + x, top + (bottom - top) * fy);
            }
        });
    }
}

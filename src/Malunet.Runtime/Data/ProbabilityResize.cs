using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
        var dst = GC.AllocateUninitializedArray<byte>(checked(dw * dh)); // every byte is written
        Interpolate(src, sw, sh, dw, dh, 0, 0, dw, dh, new MaskSink(dst, threshold));
        return dst;
    }

    /// <summary>
    /// <c>MaskMetrics.Threshold(ResizeWindow(...), threshold)</c> computed without the float window (120 MB for a
    /// 30-megapixel mask): true where the resized probability is at least <paramref name="threshold"/>.
    /// </summary>
    public static bool[] ResizeWindowToForeground(float[] src, int sw, int sh, int dw, int dh, int wx, int wy, int ww, int wh, double threshold)
    {
        var dst = GC.AllocateUninitializedArray<bool>(checked(ww * wh)); // every element is written
        Interpolate(src, sw, sh, dw, dh, wx, wy, ww, wh, new ForegroundSink(dst, threshold));
        return dst;
    }

    /// <summary>
    /// The class map of <paramref name="classes"/> probability planes (one after another in <paramref name="src"/>): each
    /// plane resized as <see cref="Resize"/> does, then the class of the largest probability per pixel (ties to the
    /// lower class, as argmax).
    /// </summary>
    public static byte[] ResizeToLabels(float[] src, int classes, int sw, int sh, int dw, int dh)
    {
        int plane = sw * sh;
        if (src.Length != classes * plane) throw new ArgumentException($"{src.Length} probabilities are not {classes} planes of {sw}x{sh}");
        var labels = new byte[checked(dw * dh)];
        var best = Resize(src[..plane], sw, sh, dw, dh);
        for (int c = 1; c < classes; c++)
        {
            var p = Resize(src[(c * plane)..((c + 1) * plane)], sw, sh, dw, dh);
            for (int i = 0; i < p.Length; i++)
                if (p[i] > best[i]) { best[i] = p[i]; labels[i] = (byte)c; }
        }
        return labels;
    }

    private interface ISink { void PutRow(long offset, ReadOnlySpan<float> row); }

    private readonly struct FloatSink(float[] dst) : ISink
    {
        public void PutRow(long offset, ReadOnlySpan<float> row) => row.CopyTo(dst.AsSpan((int)offset, row.Length));
    }

    private readonly struct MaskSink(byte[] dst, double threshold) : ISink
    {
        private readonly float limit = Evaluation.MaskMetrics.LesionLimit(threshold);
        public void PutRow(long offset, ReadOnlySpan<float> row) => ThresholdRow(row, limit, 255, dst.AsSpan((int)offset, row.Length));
    }

    private readonly struct ForegroundSink(bool[] dst, double threshold) : ISink
    {
        private readonly float limit = Evaluation.MaskMetrics.LesionLimit(threshold);
        public void PutRow(long offset, ReadOnlySpan<float> row) =>
            ThresholdRow(row, limit, 1, MemoryMarshal.Cast<bool, byte>(dst.AsSpan((int)offset, row.Length)));
    }

    /// <summary>v &gt;= threshold (a double) holds for a float v exactly when v &gt;= the smallest float not below the threshold.</summary>

    /// <summary><c>d[x] = row[x] &gt;= limit ? on : 0</c>, a vector at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ThresholdRow(ReadOnlySpan<float> row, float limit, byte on, Span<byte> d)
    {
        var lim = new Vector<float>(limit);
        var onV = new Vector<byte>(on);
        int n = Vector<float>.Count, x = 0;
        // Four comparisons (all-ones or zero per lane) narrowed twice give one vector of 0/255 bytes, masked to 0/on.
        for (; x + 4 * n <= row.Length; x += 4 * n)
        {
            var c0 = Vector.GreaterThanOrEqual(new Vector<float>(row.Slice(x, n)), lim);
            var c1 = Vector.GreaterThanOrEqual(new Vector<float>(row.Slice(x + n, n)), lim);
            var c2 = Vector.GreaterThanOrEqual(new Vector<float>(row.Slice(x + 2 * n, n)), lim);
            var c3 = Vector.GreaterThanOrEqual(new Vector<float>(row.Slice(x + 3 * n, n)), lim);
            (Vector.AsVectorByte(Vector.Narrow(Vector.Narrow(c0, c1), Vector.Narrow(c2, c3))) & onV).CopyTo(d.Slice(x, 4 * n));
        }
        for (; x < row.Length; x++) d[x] = row[x] >= limit ? on : (byte)0;
    }

    /// <summary>
    /// Separable: each source row is first interpolated along x (the "top" and "bottom" terms of every output pixel),
    /// then each output row along y, eight floats at a time. The arithmetic per pixel is that of the direct form,
    /// <c>top + (bottom - top) * fy</c> with <c>top = a + (b - a) * fx</c>, so the results are the same to the bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // its source-row loop is hot from the first image
    private static void Interpolate<TSink>(float[] src, int sw, int sh, int dw, int dh, int wx, int wy, int ww, int wh, TSink sink)
        where TSink : struct, ISink
    {
        var (x0, x1, fx) = SourceTaps(wx, ww, sw, dw);
        var (ys, ys1, fy) = SourceTaps(wy, wh, sh, dh);
        int firstRow = ys[0], lastRow = ys1[wh - 1];
        var rows = GC.AllocateUninitializedArray<float>(checked((lastRow - firstRow + 1) * ww));
        for (int j = firstRow; j <= lastRow; j++)
        {
            var r = rows.AsSpan((j - firstRow) * ww, ww);
            int o = j * sw;
            for (int x = 0; x < ww; x++) r[x] = src[o + x0[x]] + (src[o + x1[x]] - src[o + x0[x]]) * fx[x];
        }
        Parallel.For(0, wh, () => new float[ww], (y, _, line) =>
        {
            Lerp(rows.AsSpan((ys[y] - firstRow) * ww, ww), rows.AsSpan((ys1[y] - firstRow) * ww, ww), fy[y], line);
            sink.PutRow((long)y * ww, line);
            return line;
        }, _ => { });
    }

    /// <summary>
    /// For output positions <c>start .. start+count-1</c> along one axis (source length <paramref name="src"/>, output
    /// length <paramref name="dst"/>): the two source pixels each interpolates and the weight of the second, with pixel
    /// centres aligned and the edges clamped.
    /// </summary>
    private static (int[] First, int[] Second, float[] Weight) SourceTaps(int start, int count, int src, int dst)
    {
        var first = new int[count]; var second = new int[count]; var weight = new float[count];
        for (int k = 0; k < count; k++)
        {
            double s = Math.Max(0, (start + k + 0.5) * src / dst - 0.5);
            int i = Math.Min((int)s, src - 1);
            first[k] = i; second[k] = Math.Min(i + 1, src - 1); weight[k] = (float)(s - i);
        }
        return (first, second, weight);
    }

    /// <summary><c>line = top + (bottom - top) * f</c>, a vector at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // hot from the first image: skip the unoptimised tier
    private static void Lerp(ReadOnlySpan<float> top, ReadOnlySpan<float> bottom, float f, Span<float> line)
    {
        var topV = MemoryMarshal.Cast<float, Vector<float>>(top);
        var bottomV = MemoryMarshal.Cast<float, Vector<float>>(bottom);
        var lineV = MemoryMarshal.Cast<float, Vector<float>>(line);
        var fv = new Vector<float>(f);
        for (int k = 0; k < topV.Length; k++) lineV[k] = topV[k] + (bottomV[k] - topV[k]) * fv;
        for (int x = topV.Length * Vector<float>.Count; x < line.Length; x++) line[x] = top[x] + (bottom[x] - top[x]) * f;
    }
}

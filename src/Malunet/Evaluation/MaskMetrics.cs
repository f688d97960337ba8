namespace Malunet.Evaluation;

/// <summary>Dice, IoU and 95% Hausdorff distance of one binary prediction against its ground truth.</summary>
public sealed record MaskScores(double Dice, double IoU, double Hd95, long PredictedPixels, long TruePixels);

/// <summary>
/// Per-image overlap and surface-distance metrics, as MONAI and nnU-Net report them beside the paper's pooled ones.
/// Dice = 2|P∩G|/(|P|+|G|) and IoU = |P∩G|/|P∪G| (both 1 when both masks are empty). HD95 is the larger of the two
/// directed 95th percentiles of the distances from each boundary pixel of one mask to the nearest boundary pixel of
/// the other, in pixels (MONAI's <c>compute_hausdorff_distance(percentile=95)</c>); 0 when both masks are empty and
/// NaN when exactly one is. Boundary pixels are foreground pixels with a background 4-neighbour or on the image edge.
/// Distances come from an exact Euclidean distance transform (Felzenszwalb and Huttenlocher) computed only over the
/// bounding box of both boundaries, which holds every nearest point, so full-resolution masks stay fast.
/// </summary>
public static class MaskMetrics
{
    public static MaskScores Compute(ReadOnlySpan<bool> predicted, ReadOnlySpan<bool> truth, int width, int height)
    {
        if (predicted.Length != width * height || truth.Length != width * height)
            throw new ArgumentException("mask sizes differ");
        long inter = 0, p = 0, g = 0;
        for (int i = 0; i < predicted.Length; i++)
        {
            if (predicted[i]) p++;
            if (truth[i]) g++;
            if (predicted[i] && truth[i]) inter++;
        }
        double dice = p + g == 0 ? 1 : 2.0 * inter / (p + g);
        double iou = p + g - inter == 0 ? 1 : (double)inter / (p + g - inter);
        double hd95 = p == 0 && g == 0 ? 0 : p == 0 || g == 0 ? double.NaN : Hd95(predicted, truth, width, height);
        return new MaskScores(dice, iou, hd95, p, g);
    }

    private static List<int> Boundary(ReadOnlySpan<bool> m, int w, int h)
    {
        var list = new List<int>();
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            int i = y * w + x;
            if (!m[i]) continue;
            if (x == 0 || y == 0 || x == w - 1 || y == h - 1 || !m[i - 1] || !m[i + 1] || !m[i - w] || !m[i + w]) list.Add(i);
        }
        return list;
    }

    private static double Hd95(ReadOnlySpan<bool> a, ReadOnlySpan<bool> b, int w, int h)
    {
        var ba = Boundary(a, w, h);
        var bb = Boundary(b, w, h);
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        foreach (var i in ba.Concat(bb))
        {
            int x = i % w, y = i / w;
            x0 = Math.Min(x0, x); x1 = Math.Max(x1, x); y0 = Math.Min(y0, y); y1 = Math.Max(y1, y);
        }
        int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
        var toB = DistancesTo(bb, ba, w, x0, y0, bw, bh);
        var toA = DistancesTo(ba, bb, w, x0, y0, bw, bh);
        return Math.Max(Percentile(toB, 95), Percentile(toA, 95));
    }

    /// <summary>Distance from each <paramref name="queries"/> pixel to the nearest <paramref name="targets"/> pixel.</summary>
    private static double[] DistancesTo(List<int> targets, List<int> queries, int w, int x0, int y0, int bw, int bh)
    {
        var f = new float[bw * bh];
        Array.Fill(f, float.PositiveInfinity);
        foreach (var i in targets) f[(i / w - y0) * bw + (i % w - x0)] = 0;
        SquaredDistanceTransform(f, bw, bh);
        var d = new double[queries.Count];
        for (int k = 0; k < queries.Count; k++)
        {
            int i = queries[k];
            d[k] = Math.Sqrt(f[(i / w - y0) * bw + (i % w - x0)]);
        }
        return d;
    }

    /// <summary>In-place exact squared Euclidean distance transform of a grid (0 at sites, +inf elsewhere).</summary>
    public static void SquaredDistanceTransform(float[] grid, int width, int height)
    {
        int n = Math.Max(width, height);
        var line = new float[n];
        var outLine = new float[n];
        var v = new int[n];
        var z = new float[n + 1];
        for (int x = 0; x < width; x++)
        {
            for (int y = 0; y < height; y++) line[y] = grid[y * width + x];
            Transform1D(line, height, outLine, v, z);
            for (int y = 0; y < height; y++) grid[y * width + x] = outLine[y];
        }
        for (int y = 0; y < height; y++)
        {
            Array.Copy(grid, y * width, line, 0, width);
            Transform1D(line, width, outLine, v, z);
            Array.Copy(outLine, 0, grid, y * width, width);
        }
    }

    // Lower envelope of parabolas (Felzenszwalb and Huttenlocher, 2012).
    private static void Transform1D(float[] f, int n, float[] d, int[] v, float[] z)
    {
        int k = -1;
        for (int q = 0; q < n; q++)
        {
            if (float.IsPositiveInfinity(f[q])) continue;
            if (k < 0) { k = 0; v[0] = q; z[0] = float.NegativeInfinity; z[1] = float.PositiveInfinity; continue; }
            float s;
            while (true)
            {
                int p = v[k];
                s = ((f[q] + (float)q * q) - (f[p] + (float)p * p)) / (2f * (q - p));
                if (s <= z[k] && k > 0) { k--; continue; } // z[0] = -inf ends the loop at k = 0
                break;
            }
            k++;
            v[k] = q; z[k] = s; z[k + 1] = float.PositiveInfinity;
        }
        if (k < 0) { for (int q = 0; q < n; q++) d[q] = float.PositiveInfinity; return; }
        int j = 0;
        for (int q = 0; q < n; q++)
        {
            while (z[j + 1] < q) j++;
            float dq = q - v[j];
            d[q] = dq * dq + f[v[j]];
        }
    }

    /// <summary>Linear-interpolated percentile (NumPy's default), as MONAI uses.</summary>
    public static double Percentile(double[] values, double pct)
    {
        if (values.Length == 0) return double.NaN;
        var s = (double[])values.Clone();
        Array.Sort(s);
        double rank = pct / 100 * (s.Length - 1);
        int lo = (int)Math.Floor(rank), hi = Math.Min(lo + 1, s.Length - 1);
        return s[lo] + (s[hi] - s[lo]) * (rank - lo);
    }
}

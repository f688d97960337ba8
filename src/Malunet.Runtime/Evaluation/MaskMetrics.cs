namespace Malunet.Evaluation;

/// <summary>Dice, IoU and 95% Hausdorff distance of one binary prediction against its ground truth.</summary>
public sealed record MaskScores(double Dice, double IoU, double Hd95, long PredictedPixels, long TruePixels);

/// <summary>
/// Per-image overlap and surface-distance metrics, as MONAI and nnU-Net report them beside the paper's pooled ones.
/// Dice = 2|P∩G|/(|P|+|G|) and IoU = |P∩G|/|P∪G| (both 1 when both masks are empty). HD95 is the larger of the two
/// directed 95th percentiles of the distances from each boundary pixel of one mask to the nearest boundary pixel of
/// the other, in pixels (MONAI's <c>compute_hausdorff_distance(percentile=95)</c>); 0 when both masks are empty and
/// NaN when exactly one is. Boundary pixels are foreground pixels with a background 4-neighbour or on the image edge.
/// Distances are exact nearest-boundary-pixel distances found through a bucket grid of boundary pixels, so a
/// full-resolution mask costs about as much as its perimeter. (The tests compare them with an exact Euclidean distance
/// transform, Felzenszwalb and Huttenlocher's.)
/// </summary>
public static class MaskMetrics
{
    /// <summary>Why a probability threshold is unusable, after its name ("must be in (0, 1), got 2"); null when it is
    /// in (0, 1), the only values that split p.</summary>
    public static string? ThresholdProblem(double threshold) =>
        threshold > 0 && threshold < 1 ? null : $"must be in (0, 1), got {threshold.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    /// <summary>
    /// The one threshold rule of every mask and metric: a pixel is lesion when <c>p &gt;= threshold</c> (the official
    /// metrics' rule), compared in double precision.
    /// </summary>
    public static bool IsLesion(float probability, double threshold) => probability >= threshold;

    /// <summary>
    /// The smallest float32 <c>p</c> with <see cref="IsLesion"/>: float-only code (vectorised loops) compares
    /// <c>p &gt;= LesionLimit(threshold)</c> and gets the same answer for every float.
    /// </summary>
    public static float LesionLimit(double threshold) => (float)threshold < threshold ? MathF.BitIncrement((float)threshold) : (float)threshold;

    /// <summary>The one ground-truth rule: a mask pixel is lesion at 128 and above (<c>gt &gt;= 0.5</c> on 0..1 masks).</summary>
    public static bool IsTrueLesion(byte maskValue) => maskValue >= 128;

    /// <summary>The predicted mask by <see cref="IsLesion"/>.</summary>
    public static bool[] Threshold(float[] probabilities, double threshold)
    {
        var m = new bool[probabilities.Length];
        for (int i = 0; i < m.Length; i++) m[i] = IsLesion(probabilities[i], threshold);
        return m;
    }

    /// <summary>Dice, IoU and HD95 (pixels) of a predicted mask against the truth, both <paramref name="width"/> x <paramref name="height"/>.</summary>
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
        var bytes = System.Runtime.InteropServices.MemoryMarshal.Cast<bool, byte>(m); // false/true are 0/1
        var edges = new byte[w];
        var list = new List<int>();
        for (int y = 0; y < h; y++)
        {
            if (!bytes.Slice(y * w, w).ContainsAnyExcept((byte)0)) continue;
            MaskBoundary.Row(bytes, w, h, y, edges);
            for (int x = 0; x < w; x++) if (edges[x] != 0) list.Add(y * w + x);
        }
        return list;
    }

    private static double Hd95(ReadOnlySpan<bool> a, ReadOnlySpan<bool> b, int w, int h)
    {
        var ba = Boundary(a, w, h);
        var bb = Boundary(b, w, h);
        return Math.Max(Percentile(NearestDistances(ba, bb, w), 95), Percentile(NearestDistances(bb, ba, w), 95));
    }

    /// <summary>
    /// Exact distance from each query pixel to the nearest target pixel: the targets are put in square buckets and
    /// each query searches rings of buckets outwards until no unvisited bucket can hold a closer target. Only boundary
    /// pixels are involved, so a 30-megapixel mask costs about as much as its perimeter.
    /// </summary>
    public static double[] NearestDistances(List<int> queries, List<int> targets, int w)
    {
        // 32-pixel buckets: few rings even for far-away false positives, few points per bucket near the lesion.
        const int cell = 32;
        int x0 = int.MaxValue, y0 = int.MaxValue, x1 = int.MinValue, y1 = int.MinValue;
        foreach (var t in targets) { int x = t % w, y = t / w; x0 = Math.Min(x0, x); y0 = Math.Min(y0, y); x1 = Math.Max(x1, x); y1 = Math.Max(y1, y); }
        int gw = (x1 - x0) / cell + 1, gh = (y1 - y0) / cell + 1;
        // Buckets in compressed rows: start[c]..start[c+1] index into px/py.
        var start = new int[gw * gh + 1];
        foreach (var t in targets) start[((t / w - y0) / cell) * gw + (t % w - x0) / cell + 1]++;
        for (int c = 0; c < gw * gh; c++) start[c + 1] += start[c];
        var fill = (int[])start.Clone();
        var px = new int[targets.Count]; var py = new int[targets.Count];
        foreach (var t in targets)
        {
            int x = t % w, y = t / w, c = ((y - y0) / cell) * gw + (x - x0) / cell;
            px[fill[c]] = x; py[fill[c]] = y; fill[c]++;
        }
        var result = new double[queries.Count];
        for (int k = 0; k < queries.Count; k++)
        {
            int qx = queries[k] % w, qy = queries[k] / w;
            // The query's bucket, clamped to the grid; rings are counted from there.
            int cx = Math.Clamp((qx - x0) / cell, 0, gw - 1), cy = Math.Clamp((qy - y0) / cell, 0, gh - 1);
            // Distance from the query to the clamped bucket's box: rings beyond are at least that far plus (r-1) cells.
            long best = long.MaxValue;
            int maxRing = Math.Max(Math.Max(cx, gw - 1 - cx), Math.Max(cy, gh - 1 - cy));
            for (int r = 0; r <= maxRing; r++)
            {
                for (int gy = cy - r; gy <= cy + r; gy++)
                {
                    if ((uint)gy >= (uint)gh) continue;
                    bool edgeRow = gy == cy - r || gy == cy + r;
                    for (int gx = cx - r; gx <= cx + r; gx += edgeRow ? 1 : 2 * r)
                    {
                        if ((uint)gx < (uint)gw)
                        {
                            int c = gy * gw + gx;
                            for (int i = start[c]; i < start[c + 1]; i++)
                            {
                                long dx = px[i] - qx, dy = py[i] - qy, d = dx * dx + dy * dy;
                                if (d < best) best = d;
                            }
                        }
                        if (r == 0) break;
                    }
                }
                // Any target in ring r+1 or beyond lies at least r whole cells from the query's (clamped) bucket, and the
                // query is at most its own offset outside that bucket, so it is at least (r·cell - outside) away.
                long outside = Math.Max(Math.Max(x0 + cx * cell - qx, qx - (x0 + cx * cell + cell - 1)), 0)
                             + Math.Max(Math.Max(y0 + cy * cell - qy, qy - (y0 + cy * cell + cell - 1)), 0);
                long bound = (long)r * cell - outside;
                if (best != long.MaxValue && bound > 0 && bound * bound >= best) break;
            }
            result[k] = Math.Sqrt(best);
        }
        return result;
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

namespace Malunet.Tests.Evaluation;

/// <summary>
/// The exact Euclidean distance transform of Felzenszwalb and Huttenlocher (2012): an independent reference for the
/// boundary distances of <c>MaskMetrics</c>.
/// </summary>
public static class DistanceTransformReference
{
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
}

using Malunet.Data;

namespace Malunet.Evaluation;

/// <summary>
/// Scores a network-size probability map against a mask at the mask's original resolution: the map is resized up
/// bilinearly (pixel centres aligned), thresholded, and compared with the mask (foreground where &gt;= 128).
/// </summary>
public static class OriginalResolution
{
    /// <summary>
    /// Only the bounding box of both masks (plus a 1-pixel margin) is resized and compared: outside it both are
    /// empty, so Dice, IoU and HD95 are unchanged, and a 30-megapixel mask costs little more than its decoding. A
    /// resized probability can reach the threshold only next to a network-size pixel that does (bilinear values are
    /// convex combinations), which bounds the prediction's box.
    /// </summary>
    public static MaskScores Score(float[] prob, int n, Image8 mask, double threshold)
    {
        int W = mask.Width, H = mask.Height;
        int gx0 = W, gy0 = H, gx1 = -1, gy1 = -1;
        for (int y = 0; y < H; y++)
        {
            int row = y * W;
            for (int x = 0; x < W; x++)
                if (MaskMetrics.IsTrueLesion(mask.Pixels[row + x])) { if (x < gx0) gx0 = x; if (x > gx1) gx1 = x; if (y < gy0) gy0 = y; if (y > gy1) gy1 = y; }
        }
        int px0 = n, py0 = n, px1 = -1, py1 = -1;
        for (int i = 0; i < prob.Length; i++)
            if (MaskMetrics.IsLesion(prob[i], threshold)) { int x = i % n, y = i / n; px0 = Math.Min(px0, x); px1 = Math.Max(px1, x); py0 = Math.Min(py0, y); py1 = Math.Max(py1, y); }
        int x0 = gx1 >= 0 ? gx0 : W, y0 = gy1 >= 0 ? gy0 : H, x1 = gx1, y1 = gy1;
        if (px1 >= 0)
        {
            x0 = Math.Min(x0, (int)Math.Floor((px0 - 1.0) * W / n) - 1); x1 = Math.Max(x1, (int)Math.Ceiling((px1 + 2.0) * W / n) + 1);
            y0 = Math.Min(y0, (int)Math.Floor((py0 - 1.0) * H / n) - 1); y1 = Math.Max(y1, (int)Math.Ceiling((py1 + 2.0) * H / n) + 1);
        }
        if (x1 < 0) return new MaskScores(1, 1, 0, 0, 0); // both empty
        x0 = Math.Max(0, x0 - 1); y0 = Math.Max(0, y0 - 1); x1 = Math.Min(W - 1, x1 + 1); y1 = Math.Min(H - 1, y1 + 1);
        int ww = x1 - x0 + 1, wh = y1 - y0 + 1;
        var truth = new bool[ww * wh];
        for (int y = 0; y < wh; y++)
            for (int x = 0; x < ww; x++) truth[y * ww + x] = MaskMetrics.IsTrueLesion(mask.Pixels[(y0 + y) * W + x0 + x]);
        var predicted = ProbabilityResize.ResizeWindowToForeground(prob, n, n, W, H, x0, y0, ww, wh, threshold);
        return MaskMetrics.Compute(predicted, truth, ww, wh);
    }
}

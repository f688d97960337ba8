using Malunet.Evaluation;

namespace Malunet.Tests.Evaluation;

public class MaskMetricsTests
{
    private static bool[] Rect(int w, int h, int x0, int y0, int x1, int y1)
    {
        var m = new bool[w * h];
        for (int y = y0; y < y1; y++) for (int x = x0; x < x1; x++) m[y * w + x] = true;
        return m;
    }

    [Fact]
    public void Identical_masks_score_perfectly()
    {
        var a = Rect(64, 64, 10, 10, 40, 30);
        var s = MaskMetrics.Compute(a, a, 64, 64);
        Assert.Equal(1.0, s.Dice);
        Assert.Equal(1.0, s.IoU);
        Assert.Equal(0.0, s.Hd95);
    }

    [Fact]
    public void A_square_shifted_by_d_pixels_has_hd95_d()
    {
        // 20x20 squares, the second moved 5 px right: every boundary point of one is at most 5 px from the other's,
        // and the left/right edges (more than 5% of the boundary) are exactly 5 px away.
        var a = Rect(100, 100, 20, 20, 40, 40);
        var b = Rect(100, 100, 25, 20, 45, 40);
        var s = MaskMetrics.Compute(a, b, 100, 100);
        Assert.Equal(5.0, s.Hd95, 6);
        Assert.Equal(2.0 * 300 / 800, s.Dice, 10);  // overlap 15x20 = 300 of 400 + 400
        Assert.Equal(300.0 / 500, s.IoU, 10);
    }

    [Fact]
    public void Hd95_ignores_the_worst_five_percent()
    {
        // A big square plus a single far-away pixel in the prediction: Hausdorff would be huge, HD95 stays small.
        var truth = Rect(200, 200, 20, 20, 120, 120);
        var pred = Rect(200, 200, 20, 20, 120, 120);
        pred[190 * 200 + 190] = true;
        var s = MaskMetrics.Compute(pred, truth, 200, 200);
        Assert.Equal(0.0, s.Hd95);
    }

    [Fact]
    public void Distance_transform_is_exact_euclidean()
    {
        var g = new float[7 * 5];
        Array.Fill(g, float.PositiveInfinity);
        g[2 * 7 + 3] = 0; // site at (3, 2)
        DistanceTransformReference.SquaredDistanceTransform(g, 7, 5);
        for (int y = 0; y < 5; y++) for (int x = 0; x < 7; x++) Assert.Equal((x - 3) * (x - 3) + (y - 2) * (y - 2), g[y * 7 + x]);
    }

    [Fact]
    public void Empty_masks_follow_the_conventions()
    {
        var empty = new bool[16];
        var one = new bool[16]; one[5] = true;
        Assert.Equal(0.0, MaskMetrics.Compute(empty, empty, 4, 4).Hd95);
        Assert.Equal(1.0, MaskMetrics.Compute(empty, empty, 4, 4).Dice);
        Assert.True(double.IsNaN(MaskMetrics.Compute(one, empty, 4, 4).Hd95));
        Assert.Equal(0.0, MaskMetrics.Compute(one, empty, 4, 4).Dice);
    }

    [Fact]
    public void Percentile_interpolates_like_numpy()
    {
        Assert.Equal(9.55, MaskMetrics.Percentile(Enumerable.Range(0, 11).Select(i => (double)i).ToArray(), 95.5), 10);
        Assert.Equal(3.0, MaskMetrics.Percentile(new[] { 3.0 }, 95));
    }
}

public class NearestDistanceTests
{
    [Fact]
    public void Bucket_search_equals_the_distance_transform_on_random_point_sets()
    {
        var rng = new Random(11);
        int w = 300, h = 200;
        for (int trial = 0; trial < 20; trial++)
        {
            var targets = Enumerable.Range(0, rng.Next(1, 200)).Select(_ => rng.Next(h) * w + rng.Next(w)).Distinct().ToList();
            var queries = Enumerable.Range(0, 300).Select(_ => rng.Next(h) * w + rng.Next(w)).ToList();
            var grid = new float[w * h];
            Array.Fill(grid, float.PositiveInfinity);
            foreach (var t in targets) grid[t] = 0;
            DistanceTransformReference.SquaredDistanceTransform(grid, w, h);
            var d = MaskMetrics.NearestDistances(queries, targets, w);
            for (int k = 0; k < queries.Count; k++) Assert.Equal(Math.Sqrt(grid[queries[k]]), d[k], 9);
        }
    }
}

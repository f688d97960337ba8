using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Inference;

namespace Malunet.Tests.Evaluation;

public class OriginalResolutionTests
{
    [Fact]
    public void Window_resize_equals_the_crop_of_the_full_resize()
    {
        var rng = new Random(5);
        var src = Enumerable.Range(0, 32 * 32).Select(_ => (float)rng.NextDouble()).ToArray();
        var full = ProbabilityResize.Resize(src, 32, 32, 301, 203);
        var win = ProbabilityResize.ResizeWindow(src, 32, 32, 301, 203, 40, 17, 100, 50);
        for (int y = 0; y < 50; y++) for (int x = 0; x < 100; x++) Assert.Equal(full[(17 + y) * 301 + 40 + x], win[y * 100 + x]);
    }

    [Fact]
    public void Bounding_box_scoring_equals_whole_image_scoring_on_a_real_full_resolution_mask()
    {
        var maskPath = Directory.GetFiles(Path.Combine(SharedData.Root, "data", "isic2017_fullres", "masks")).First();
        var mask = ImageDecoder.DecodeMaskFull(maskPath);
        // A prediction: the mask shrunk to 256x256, shifted and blurred a little, so the scores are not trivial.
        var small = ImageDecoder.Resize(mask, 256, 256);
        var prob = new float[256 * 256];
        for (int y = 0; y < 256; y++) for (int x = 0; x < 256; x++)
            prob[y * 256 + x] = small.Pixels[y * 256 + Math.Max(0, x - 6)] / 255f * 0.9f + 0.05f;
        prob[3 * 256 + 250] = 0.99f; // a stray positive far from the lesion
        var fast = OriginalResolution.Score(prob, 256, mask, 0.5);
        var slow = ScoreFull(prob, 256, mask, 0.5);
        Assert.Equal(slow.Dice, fast.Dice, 12);
        Assert.Equal(slow.IoU, fast.IoU, 12);
        Assert.Equal(slow.Hd95, fast.Hd95, 9);
        Assert.Equal(slow.PredictedPixels, fast.PredictedPixels);
        Assert.True(slow.Dice is > 0.8 and < 1.0);
    }

    /// <summary>The same scores computed naively over the whole image: the reference for the bounding-box shortcut.</summary>
    private static MaskScores ScoreFull(float[] prob, int n, Image8 mask, double threshold)
    {
        var up = ProbabilityResize.Resize(prob, n, n, mask.Width, mask.Height);
        var truth = mask.Pixels.Select(v => v >= 128).ToArray();
        return MaskMetrics.Compute(MaskMetrics.Threshold(up, threshold), truth, mask.Width, mask.Height);
    }
}

using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Interop;

namespace Malunet.Tests.Data;

/// <summary>Bringing probabilities back to the original size, against PyTorch's bilinear resize (an independent reference).</summary>
public class ProbabilityResizeTests
{
    private static float[] Read(string name) =>
        NpyTensors.Read(Path.Combine(SharedData.Root, "fixtures", "resize-reference", name)).data<float>().ToArray();

    [Theory]
    [InlineData("prob_576x767.npy", 767, 576)]
    [InlineData("prob_1129x1504.npy", 1504, 1129)]
    public void Resize_matches_pytorch_bilinear_with_half_pixel_centres(string reference, int width, int height)
    {
        var src = Read("prob_256.npy");
        var want = Read(reference);
        var got = ProbabilityResize.Resize(src, 256, 256, width, height);
        Assert.Equal(want.Length, got.Length);
        double worst = want.Zip(got).Max(p => Math.Abs(p.First - p.Second));
        // ATen computes the source coordinates and weights in float32, we in float64 (then the weights in float32):
        // measured 2.5e-6 (767x576) and 4.7e-6 (1504x1129), far below what moves a mask pixel across a threshold.
        Assert.True(worst <= 1e-5, $"max |diff| {worst:E2}");
    }

    [Fact]
    public void Mask_resize_is_the_threshold_of_the_probability_resize()
    {
        var src = Read("prob_256.npy");
        foreach (var t in new[] { 0.5, 0.3, 0.77 })
        {
            var mask = ProbabilityResize.ResizeToMask(src, 256, 256, 767, 576, t);
            var expected = MaskMetrics.Threshold(ProbabilityResize.Resize(src, 256, 256, 767, 576), t);
            Assert.Equal(expected.Select(v => v ? (byte)255 : (byte)0), mask);
            Assert.Contains((byte)255, mask);
            Assert.Contains((byte)0, mask);
        }
    }

    [Fact]
    public void Foreground_window_is_the_threshold_of_the_probability_window()
    {
        var src = Read("prob_256.npy");
        foreach (var t in new[] { 0.5, 0.3, 0.77, 1.0 / 3 })
        {
            var got = ProbabilityResize.ResizeWindowToForeground(src, 256, 256, 767, 576, 101, 37, 413, 291, t);
            var expected = MaskMetrics.Threshold(ProbabilityResize.ResizeWindow(src, 256, 256, 767, 576, 101, 37, 413, 291), t);
            Assert.Equal(expected, got);
            // Every element is a proper bool (0 or 1 in memory), so comparisons and counts see what they should.
            Assert.All(System.Runtime.InteropServices.MemoryMarshal.Cast<bool, byte>(got.AsSpan()).ToArray(), b => Assert.True(b <= 1));
            Assert.Contains(true, got);
            Assert.Contains(false, got);
        }
    }
}

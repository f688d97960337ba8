using Malunet.Data;
using static TorchSharp.torch;

namespace Malunet.Tests.Data;

public class AugmentationTests
{
    // An image whose every channel is the mask (x 255), so any transform must keep them equal.
    private static (Tensor Image, Tensor Mask) Pair(int n = 2, int size = 64)
    {
        var mask = zeros(n, 1, size, size);
        mask[.., .., TensorIndex.Slice(10, 30), TensorIndex.Slice(5, 50)] = tensor(1f);   // an off-centre, asymmetric box
        mask[.., .., TensorIndex.Slice(40, 60), TensorIndex.Slice(40, 48)] = tensor(1f);
        return (mask.repeat(1, 3, 1, 1) * 255, mask);
    }

    [Theory]
    [InlineData(true, false, null)]
    [InlineData(false, true, null)]
    [InlineData(true, true, 90.0)]
    [InlineData(false, false, 180.0)]
    [InlineData(false, false, 270.0)]
    public void Flips_and_right_angle_rotations_move_image_and_mask_exactly_together(bool h, bool v, double? deg)
    {
        var (img, mask) = Pair();
        var draws = new[] { new AugmentationDraw(h, v, deg), new AugmentationDraw(h, v, deg) };
        var (ai, am) = Augmentation.Apply(img, mask, draws);
        Assert.False(am.allclose(mask)); // something moved
        Assert.True(TensorAssert.MaxAbsDiff(ai[.., 0..1] / 255, am) < 1e-4);
        Assert.Equal(mask.sum().item<float>(), am.sum().item<float>(), 0);
    }

    [Fact]
    public void Arbitrary_rotations_keep_image_and_mask_aligned()
    {
        var (img, mask) = Pair();
        var (ai, am) = Augmentation.Apply(img, mask, new[] { new AugmentationDraw(false, false, 33.0), new AugmentationDraw(true, false, 211.5) });
        var imgMask = ai[.., 0..1].ge(127.5);
        var m = am.ge(0.5);
        double iou = (imgMask & m).sum().item<long>() / (double)(imgMask | m).sum().item<long>();
        Assert.True(iou > 0.95, $"IoU {iou}");
    }

    [Fact]
    public void Every_sample_gets_its_own_angle()
    {
        var data = Enumerable.Range(0, 40).Select(i => new CachedSample($"s{i}", 32, new byte[32 * 32 * 3], new byte[32 * 32], 32, 32, 32, 32, 0)).ToList();
        var stream = new BatchStream(data, 8, 42, shuffle: true, augment: true);
        var angles = Enumerable.Range(0, 40).Select(p => stream.DrawFor(0, p).RotationDegrees).Where(a => a != null).Distinct().ToList();
        Assert.True(angles.Count > 10, $"only {angles.Count} distinct angles");
        Assert.All(angles, a => Assert.InRange(a!.Value, 0.0, 360.0));
        // Deterministic: the same (seed, epoch, position) gives the same draw; another epoch a different one.
        Assert.Equal(stream.DrawFor(3, 5), stream.DrawFor(3, 5));
        Assert.NotEqual(Enumerable.Range(0, 40).Select(p => stream.DrawFor(0, p)), Enumerable.Range(0, 40).Select(p => stream.DrawFor(1, p)));
        Assert.Equal(stream.Order(2), stream.Order(2));
        Assert.NotEqual(stream.Order(2), stream.Order(3));
    }

    [Fact]
    public void Preprocessing_scales_each_image_by_its_own_min_and_max()
    {
        var rng = new Random(1);
        var bytes = new byte[16 * 16 * 3];
        rng.NextBytes(bytes);
        for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(40 + bytes[i] % 100); // range 40..139
        var chw = new float[bytes.Length];
        Preprocessing.ImageToInput(bytes, 16, 16, chw);
        Assert.Equal(0f, chw.Min());
        Assert.Equal(255f, chw.Max());
        double min = bytes.Min(b => (double)b), max = bytes.Max(b => (double)b);
        // pixel (x=3, y=2), green channel
        int idx = 2 * 16 + 3;
        Assert.Equal((bytes[idx * 3 + 1] - min) / (max - min) * 255, chw[16 * 16 + idx], 3);
        var flat = new byte[12]; Array.Fill(flat, (byte)7);
        var outFlat = new float[12];
        Preprocessing.ImageToInput(flat, 2, 2, outFlat);
        Assert.All(outFlat, v => Assert.Equal(0f, v));
    }
}

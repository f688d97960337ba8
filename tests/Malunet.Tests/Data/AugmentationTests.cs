using Malunet.Data;
using static TorchSharp.torch;

namespace Malunet.Tests.Data;

public class AugmentationTests
{
    // An image whose every channel is the mask (x 255), so any transform must keep them equal.
    private static (float[] Image, float[] Mask) Pair(int size = 64)
    {
        var mask = new float[size * size];
        for (int y = 10; y < 30; y++) for (int x = 5; x < 50; x++) mask[y * size + x] = 1f; // off-centre, asymmetric
        for (int y = 40; y < 60; y++) for (int x = 40; x < 48; x++) mask[y * size + x] = 1f;
        var image = new float[3 * size * size];
        for (int c = 0; c < 3; c++) for (int i = 0; i < size * size; i++) image[c * size * size + i] = 255 * mask[i];
        return (image, mask);
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
        var (ai, am) = Augmentation.Apply(img, mask, 3, 64, 64, new AugmentationDraw(h, v, deg));
        Assert.NotEqual(mask, am); // something moved
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < am.Length; i++) Assert.True(Math.Abs(ai[c * 4096 + i] / 255 - am[i]) < 1e-4);
        Assert.Equal(mask.Sum(), am.Sum(), 3);
    }

    [Fact]
    public void Right_angle_rotation_equals_torch_rot90()
    {
        // grid_sample semantics: a 90 degree rotation is an exact permutation; compare with torch.rot90.
        var (img, mask) = Pair();
        var (_, am) = Augmentation.Apply(img, mask, 3, 64, 64, new AugmentationDraw(false, false, 90.0));
        var t = tensor(mask, new long[] { 64, 64 });
        var r1 = tensor(am, new long[] { 64, 64 });
        Assert.True(r1.allclose(t.rot90(1, (0, 1))) || r1.allclose(t.rot90(-1, (0, 1))));
    }

    [Fact]
    public void Arbitrary_rotations_keep_image_and_mask_aligned()
    {
        var (img, mask) = Pair();
        foreach (var d in new[] { new AugmentationDraw(false, false, 33.0), new AugmentationDraw(true, false, 211.5) })
        {
            var (ai, am) = Augmentation.Apply(img, mask, 3, 64, 64, d);
            int inter = 0, union = 0;
            for (int i = 0; i < am.Length; i++)
            {
                bool a = ai[i] >= 127.5f, b = am[i] >= 0.5f;
                if (a && b) inter++;
                if (a || b) union++;
            }
            Assert.True(inter / (double)union > 0.95, $"IoU {inter / (double)union}");
        }
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

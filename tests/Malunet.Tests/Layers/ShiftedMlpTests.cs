using Malunet.Layers;
using static TorchSharp.torch;

namespace Malunet.Tests.Layers;

/// <summary>UNeXt's token shift: channel group g moves by g − 2 pixels along one axis, zero-filled.</summary>
public class ShiftedMlpTests
{
    [Theory]
    [InlineData(2L)]
    [InlineData(3L)]
    public void Shift_moves_each_of_five_channel_groups_by_minus_two_to_two_pixels(long axis)
    {
        using var scope = NewDisposeScope();
        var x = arange(2 * 10 * 6 * 7, dtype: float32).reshape(2, 10, 6, 7) + 1;
        var y = ShiftedMlp.Shift(x, axis);
        Assert.Equal(x.shape, y.shape);
        var xs = x.data<float>().ToArray();
        var ys = y.data<float>().ToArray();
        for (int b = 0; b < 2; b++)
        for (int c = 0; c < 10; c++)
        for (int i = 0; i < 6; i++)
        for (int j = 0; j < 7; j++)
        {
            int shift = c / 2 - 2;                        // ten channels: groups of two
            int si = axis == 2 ? i - shift : i, sj = axis == 3 ? j - shift : j;
            float expected = si < 0 || si >= 6 || sj < 0 || sj >= 7 ? 0 : xs[((b * 10 + c) * 6 + si) * 7 + sj];
            Assert.Equal(expected, ys[((b * 10 + c) * 6 + i) * 7 + j]);
        }
    }
}

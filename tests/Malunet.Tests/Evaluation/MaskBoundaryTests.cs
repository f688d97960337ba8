using Malunet.Evaluation;

namespace Malunet.Tests.Evaluation;

/// <summary>The shared boundary rule, vectorised, against its definition on random masks of 0/1 and 0/255.</summary>
public class MaskBoundaryTests
{
    [Theory]
    [InlineData(1, 7, 5)]
    [InlineData(255, 97, 31)]
    [InlineData(1, 2, 3)]
    public void Vectorised_rows_equal_the_definition(byte foreground, int w, int h)
    {
        var rng = new Random(w * 31 + h);
        var mask = new byte[w * h];
        for (int i = 0; i < mask.Length; i++) mask[i] = rng.NextDouble() < 0.6 ? foreground : (byte)0;
        var edges = new byte[w];
        for (int y = 0; y < h; y++)
        {
            MaskBoundary.Row(mask, w, h, y, edges);
            for (int x = 0; x < w; x++)
            {
                int i = y * w + x;
                bool expected = mask[i] != 0 && (x == 0 || y == 0 || x == w - 1 || y == h - 1
                                                 || mask[i - 1] == 0 || mask[i + 1] == 0 || mask[i - w] == 0 || mask[i + w] == 0);
                Assert.True(expected == (edges[x] != 0), $"pixel ({x}, {y})");
            }
        }
    }
}

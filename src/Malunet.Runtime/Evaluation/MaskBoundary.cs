using System.Numerics;
using System.Runtime.CompilerServices;

namespace Malunet.Evaluation;

/// <summary>
/// The one boundary rule, shared by HD95 (<see cref="MaskMetrics"/>) and the drawn lesion contour: a foreground pixel
/// with a background 4-neighbour, or on the image's edge. Masks are bytes, 0 for background and one non-zero value
/// for foreground (0/255 masks and 0/1 bools alike: the test is a bitwise AND).
/// </summary>
internal static class MaskBoundary
{
    /// <summary>Row <paramref name="y"/>'s boundary pixels: non-zero in <paramref name="edges"/>, a vector at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Row(ReadOnlySpan<byte> mask, int w, int h, int y, Span<byte> edges)
    {
        var m = mask.Slice(y * w, w);
        if (y == 0 || y == h - 1 || w < 3) { m.CopyTo(edges); return; }
        var up = mask.Slice((y - 1) * w, w);
        var down = mask.Slice((y + 1) * w, w);
        int n = Vector<byte>.Count, x = 1;
        for (; x + n <= w - 1; x += n)
        {
            var inner = new Vector<byte>(m[(x - 1)..]) & new Vector<byte>(m[(x + 1)..]) & new Vector<byte>(up[x..]) & new Vector<byte>(down[x..]);
            Vector.AndNot(new Vector<byte>(m[x..]), inner).CopyTo(edges[x..]);
        }
        for (; x < w - 1; x++) edges[x] = (byte)(m[x] & ~(m[x - 1] & m[x + 1] & up[x] & down[x]));
        edges[0] = m[0];
        edges[w - 1] = m[w - 1];
    }
}

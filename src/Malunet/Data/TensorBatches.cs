using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace Malunet.Data;

/// <summary>
/// Cached samples as libtorch batches, written straight into the tensors' memory with the official preprocessing
/// (<see cref="Preprocessing"/>): the training and evaluation side of what the runtime does on managed arrays.
/// </summary>
public static class TensorBatches
{
    /// <summary>The float32 elements of a contiguous CPU tensor as a writable span (no managed copy).</summary>
    public static Span<float> FloatSpan(Tensor t) => MemoryMarshal.Cast<byte, float>(t.bytes);

    /// <summary>A B x 3 x S x S input batch.</summary>
    public static Tensor Images(IReadOnlyList<CachedSample> samples)
    {
        int s = samples[0].Size, plane = 3 * s * s;
        var t = empty(samples.Count, 3, s, s);
        var span = FloatSpan(t);
        for (int b = 0; b < samples.Count; b++)
            Preprocessing.ImageToInput(samples[b].Image, s, s, span.Slice(b * plane, plane));
        return t;
    }

    /// <summary>A B x 1 x S x S mask batch (0..1, or class indices).</summary>
    public static Tensor Masks(IReadOnlyList<CachedSample> samples)
    {
        int s = samples[0].Size, plane = s * s;
        var t = empty(samples.Count, 1, s, s);
        var span = FloatSpan(t);
        for (int b = 0; b < samples.Count; b++)
            Preprocessing.MaskToTarget(samples[b], span.Slice(b * plane, plane));
        return t;
    }
}

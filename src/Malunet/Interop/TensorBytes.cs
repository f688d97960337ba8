using static TorchSharp.torch;

namespace Malunet.Interop;

/// <summary>Raw little-endian bytes of a tensor in C order.</summary>
public static class TensorBytes
{
    /// <summary>The tensor's bytes, C order, little-endian.</summary>
    public static byte[] Of(Tensor t)
    {
        using var c = t.detach().cpu().contiguous();
        return c.bytes.ToArray();
    }

    /// <summary>Bytes of one element of <paramref name="t"/>.</summary>
    public static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Byte or ScalarType.Int8 or ScalarType.Bool => 1,
        _ => throw new NotSupportedException($"unsupported tensor type {t}"),
    };

    /// <summary>A tensor of <paramref name="dtype"/> and <paramref name="shape"/> from raw little-endian bytes.</summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> bytes, ScalarType dtype, long[] shape)
    {
        long numel = shape.Aggregate(1L, (a, b) => a * b);
        if (bytes.Length != numel * ElementSize(dtype))
            throw new InvalidDataException($"{bytes.Length} bytes do not hold {numel} elements of {dtype}");
        var t = empty(shape, dtype);
        bytes.CopyTo(t.bytes);
        return t;
    }
}

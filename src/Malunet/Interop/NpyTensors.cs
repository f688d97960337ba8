using static TorchSharp.torch;

namespace Malunet.Interop;

/// <summary>Whole <c>.npy</c> files as libtorch tensors (<see cref="NpyFile"/> reads and writes them without libtorch).</summary>
public static class NpyTensors
{
    /// <summary>The array of <paramref name="path"/> in its own element type.</summary>
    public static Tensor Read(string path)
    {
        var header = NpyFile.ReadHeader(path);
        var dtype = header.Dtype switch
        {
            NpyElement.Float32 => ScalarType.Float32, NpyElement.Float64 => ScalarType.Float64, NpyElement.Float16 => ScalarType.Float16,
            NpyElement.Int64 => ScalarType.Int64, NpyElement.Int32 => ScalarType.Int32, NpyElement.UInt8 => ScalarType.Byte,
            _ => ScalarType.Bool,
        };
        var t = empty(header.Shape, dtype);
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            NpyFile.ReadExactly(f, header.DataOffset, t.bytes);
        }
        catch { t.Dispose(); throw; }
        return t;
    }

    /// <summary>Writes <paramref name="t"/> as float32 (atomically).</summary>
    public static void Write(string path, Tensor t) => AtomicFile.Write(path, s =>
    {
        NpyFile.WriteHeader(s, t.shape);
        using var f = t.detach().cpu().to(ScalarType.Float32).contiguous();
        s.Write(f.bytes);
    });
}

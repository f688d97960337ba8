using System.Text;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace Malunet.Interop;

/// <summary>
/// NumPy <c>.npy</c> files (format 1.0-3.0): a magic string, a Python-dict header with <c>descr</c>,
/// <c>fortran_order</c> and <c>shape</c>, then the raw data. Reads little-endian float32/float64/int/uint8/bool arrays
/// in C order; writes float32.
/// </summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    public static Tensor Read(string path)
    {
        byte[] b;
        try { b = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new FileNotFoundException($"{path}: no such file"); }
        if (b.Length < 10 || !b.AsSpan(0, 6).SequenceEqual(Magic)) throw new InvalidDataException($"{path}: not a .npy file");
        int major = b[6];
        int headerLen, headerStart;
        if (major == 1) { headerLen = BitConverter.ToUInt16(b, 8); headerStart = 10; }
        else if (major is 2 or 3) { headerLen = (int)BitConverter.ToUInt32(b, 8); headerStart = 12; }
        else throw new InvalidDataException($"{path}: unsupported .npy version {major}");
        if (headerStart + headerLen > b.Length) throw new InvalidDataException($"{path}: truncated .npy header");
        var header = Encoding.Latin1.GetString(b, headerStart, headerLen);
        var descr = DescrRegex().Match(header).Groups[1].Value;
        if (FortranRegex().Match(header).Groups[1].Value == "True")
            throw new InvalidDataException($"{path}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
        var shapeText = ShapeRegex().Match(header).Groups[1].Value;
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        ScalarType dtype = descr switch
        {
            "<f4" => ScalarType.Float32, "<f8" => ScalarType.Float64, "<i8" => ScalarType.Int64, "<i4" => ScalarType.Int32,
            "|u1" => ScalarType.Byte, "|b1" => ScalarType.Bool, "<f2" => ScalarType.Float16,
            _ => throw new InvalidDataException($"{path}: unsupported dtype '{descr}' (use float32)"),
        };
        int dataStart = headerStart + headerLen;
        long numel = shape.Aggregate(1L, (x, y) => x * y);
        long need = numel * TensorBytes.ElementSize(dtype);
        if (b.Length - dataStart < need)
            throw new InvalidDataException($"{path}: truncated: {b.Length - dataStart} data bytes, {need} expected for shape ({shapeText})");
        return TensorBytes.FromBytes(b.AsSpan(dataStart, (int)need), dtype, shape);
    }

    public static void Write(string path, Tensor t)
    {
        using var f = t.detach().cpu().to(ScalarType.Float32).contiguous();
        var shape = f.shape.Length == 1 ? $"({f.shape[0]},)" : $"({string.Join(", ", f.shape)})";
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        var data = TensorBytes.Of(f);
        AtomicFile.Write(path, s =>
        {
            s.Write(Magic); s.WriteByte(1); s.WriteByte(0);
            s.Write(BitConverter.GetBytes((ushort)header.Length));
            s.Write(Encoding.Latin1.GetBytes(header));
            s.Write(data);
        });
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")] private static partial Regex DescrRegex();
    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")] private static partial Regex FortranRegex();
    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")] private static partial Regex ShapeRegex();
}

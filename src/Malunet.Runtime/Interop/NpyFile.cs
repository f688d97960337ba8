using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Malunet.Interop;

/// <summary>The element types of the <c>.npy</c> files read here (NumPy's <c>descr</c> in brackets).</summary>
public enum NpyElement
{
    /// <summary>&lt;f4</summary>
    Float32,
    /// <summary>&lt;f8</summary>
    Float64,
    /// <summary>&lt;f2</summary>
    Float16,
    /// <summary>&lt;i8</summary>
    Int64,
    /// <summary>&lt;i4</summary>
    Int32,
    /// <summary>|u1</summary>
    UInt8,
    /// <summary>|b1</summary>
    Bool,
}

/// <summary>What a <c>.npy</c> header says: the element type, the shape, and where the data starts.</summary>
public sealed record NpyHeader(NpyElement Dtype, long[] Shape, long DataOffset)
{
    /// <summary>Bytes of one element.</summary>
    public int ElementSize => Dtype switch
    {
        NpyElement.Float64 or NpyElement.Int64 => 8,
        NpyElement.Float32 or NpyElement.Int32 => 4,
        NpyElement.Float16 => 2,
        _ => 1,
    };

    /// <summary>Bytes of one entry along the first axis (one image of an N x C x H x W batch).</summary>
    public long RowBytes => Shape.Skip(1).Aggregate(1L, (a, b) => a * b) * ElementSize;
    /// <summary>Bytes of the whole array.</summary>
    public long DataBytes => (Shape.Length > 0 ? Shape[0] : 1) * RowBytes;
}

/// <summary>
/// NumPy <c>.npy</c> files (format 1.0-3.0): a magic string, a Python-dict header with <c>descr</c>,
/// <c>fortran_order</c> and <c>shape</c>, then the raw data. Reads little-endian float32/float64/float16/int/uint8/bool
/// arrays in C order, a range of entries along the first axis at a time as float32 into a reused buffer (a 400 MB
/// batch file is never held whole); writes float32 as a stream of entries after its header. The Malunet package's
/// <c>NpyTensors</c> reads and writes libtorch tensors whole.
/// </summary>
public static partial class NpyFile
{
    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    /// <summary>The header of <paramref name="path"/>, checked against the file's length.</summary>
    public static NpyHeader ReadHeader(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        using var f = File.OpenRead(path);
        var head = new byte[12];
        if (f.ReadAtLeast(head, 12, throwOnEndOfStream: false) < 10 || !head.AsSpan(0, 6).SequenceEqual(Magic)) throw new InvalidDataException($"{path}: not a .npy file");
        int major = head[6];
        int headerLen, headerStart;
        if (major == 1) { headerLen = BitConverter.ToUInt16(head, 8); headerStart = 10; }
        else if (major is 2 or 3) { headerLen = (int)BitConverter.ToUInt32(head, 8); headerStart = 12; }
        else throw new InvalidDataException($"{path}: unsupported .npy version {major}");
        if (headerStart + (long)headerLen > f.Length) throw new InvalidDataException($"{path}: truncated .npy header");
        var headerBytes = new byte[headerLen];
        f.Position = headerStart;
        f.ReadExactly(headerBytes);
        var header = Encoding.Latin1.GetString(headerBytes);
        var descr = DescrRegex().Match(header).Groups[1].Value;
        if (FortranRegex().Match(header).Groups[1].Value == "True")
            throw new InvalidDataException($"{path}: Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
        var shapeText = ShapeRegex().Match(header).Groups[1].Value;
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        NpyElement dtype = descr switch
        {
            "<f4" => NpyElement.Float32, "<f8" => NpyElement.Float64, "<i8" => NpyElement.Int64, "<i4" => NpyElement.Int32,
            "|u1" => NpyElement.UInt8, "|b1" => NpyElement.Bool, "<f2" => NpyElement.Float16,
            _ => throw new InvalidDataException($"{path}: unsupported dtype '{descr}' (use float32)"),
        };
        var result = new NpyHeader(dtype, shape, headerStart + headerLen);
        if (f.Length - result.DataOffset < result.DataBytes)
            throw new InvalidDataException($"{path}: truncated: {f.Length - result.DataOffset} data bytes, {result.DataBytes} expected for shape ({shapeText})");
        return result;
    }

    /// <summary>
    /// Entries <paramref name="start"/> onwards along the first axis as float32 into <paramref name="destination"/>
    /// (a whole number of entries), without libtorch: float32 data is read straight into it, other element types
    /// are converted as NumPy's <c>astype(np.float32)</c> converts them.
    /// </summary>
    public static void ReadRowsAsFloat32(FileStream file, NpyHeader header, long start, Span<float> destination)
    {
        long offset = header.DataOffset + start * header.RowBytes;
        if (header.Dtype == NpyElement.Float32)
        {
            ReadExactly(file, offset, MemoryMarshal.AsBytes(destination));
            return;
        }
        int size = header.ElementSize, chunk = Math.Max(1, (1 << 20) / size);
        var raw = new byte[Math.Min(destination.Length, chunk) * size];
        for (int done = 0; done < destination.Length; done += chunk)
        {
            int count = Math.Min(chunk, destination.Length - done);
            var bytes = raw.AsSpan(0, count * size);
            ReadExactly(file, offset + (long)done * size, bytes);
            var target = destination.Slice(done, count);
            switch (header.Dtype)
            {
                case NpyElement.Float64: { var v = MemoryMarshal.Cast<byte, double>(bytes); for (int i = 0; i < count; i++) target[i] = (float)v[i]; break; }
                case NpyElement.Float16: { var v = MemoryMarshal.Cast<byte, Half>(bytes); for (int i = 0; i < count; i++) target[i] = (float)v[i]; break; }
                case NpyElement.Int64: { var v = MemoryMarshal.Cast<byte, long>(bytes); for (int i = 0; i < count; i++) target[i] = v[i]; break; }
                case NpyElement.Int32: { var v = MemoryMarshal.Cast<byte, int>(bytes); for (int i = 0; i < count; i++) target[i] = v[i]; break; }
                case NpyElement.UInt8: for (int i = 0; i < count; i++) target[i] = bytes[i]; break;
                case NpyElement.Bool: for (int i = 0; i < count; i++) target[i] = bytes[i] != 0 ? 1f : 0f; break;
                default: throw new NotSupportedException($"{file.Name}: cannot read {header.Dtype} as float32");
            }
        }
    }

    /// <summary>Reads exactly <paramref name="bytes"/>.Length bytes at <paramref name="offset"/>; a short file is an error naming it.</summary>
    public static void ReadExactly(FileStream file, long offset, Span<byte> bytes)
    {
        int read = 0;
        while (read < bytes.Length)
        {
            int n = RandomAccess.Read(file.SafeFileHandle, bytes[read..], offset + read);
            if (n == 0) throw new InvalidDataException($"{file.Name}: truncated");
            read += n;
        }
    }

    /// <summary>The header of a float32 array of <paramref name="shape"/>; the C-order data follows it.</summary>
    public static void WriteHeader(Stream s, long[] shape)
    {
        var text = shape.Length == 1 ? $"({shape[0]},)" : $"({string.Join(", ", shape)})";
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {text}, }}";
        int total = 10 + header.Length + 1;
        header += new string(' ', (64 - total % 64) % 64) + "\n";
        s.Write(Magic); s.WriteByte(1); s.WriteByte(0);
        s.Write(BitConverter.GetBytes((ushort)header.Length));
        s.Write(Encoding.Latin1.GetBytes(header));
    }

    /// <summary>Appends float32 values (after <see cref="WriteHeader"/>).</summary>
    public static void WriteData(Stream s, ReadOnlySpan<float> values) => s.Write(MemoryMarshal.AsBytes(values));

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")] private static partial Regex DescrRegex();
    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")] private static partial Regex FortranRegex();
    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")] private static partial Regex ShapeRegex();
}

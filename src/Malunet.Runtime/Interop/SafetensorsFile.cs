using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;

namespace Malunet.Interop;

/// <summary>
/// Reads safetensors files without libtorch: an 8-byte little-endian header length, a JSON header mapping each tensor
/// name to its dtype, shape and byte range (plus an optional string-to-string <c>__metadata__</c>), then the raw
/// little-endian data.
/// </summary>
public static class SafetensorsFile
{
    /// <summary>The element types the format names and this project reads and writes.</summary>
    internal static readonly string[] DTypes = ["F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"];

    /// <summary>True if the file starts like a safetensors file (plausible header length, then '{').</summary>
    public static bool LooksLike(string path)
    {
        using var fs = File.OpenRead(path);
        if (fs.Length < 10) return false;
        Span<byte> head = stackalloc byte[9];
        fs.ReadExactly(head);
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(head);
        return n > 1 && n < 100_000_000 && (long)n + 8 <= fs.Length && head[8] == (byte)'{';
    }

    /// <summary>
    /// The float32 tensors of a file as managed arrays, without libtorch (for code that runs on ONNX Runtime alone);
    /// a tensor of another dtype is an error naming it.
    /// </summary>
    public static Dictionary<string, (long[] Shape, float[] Values)> ReadFloat32(string path) =>
        ReadEntries(path).Entries.ToDictionary(e => e.Name, e => e.DType == "F32"
            ? (e.Shape, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(e.Data.Span).ToArray())
            : throw new InvalidDataException($"{path}: {e.Name} is {e.DType}, not F32"));

    /// <summary>One tensor of a file: its name, dtype as the format writes it ("F32"...), shape and raw little-endian bytes.</summary>
    public readonly record struct Entry(string Name, string DType, long[] Shape, ReadOnlyMemory<byte> Data);

    /// <summary>Every tensor of a file, in header order, and its <c>__metadata__</c>; a damaged file is an error naming it.</summary>
    public static (List<Entry> Entries, Dictionary<string, string> Metadata) ReadEntries(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path}: too short for a safetensors file");
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8)) throw new InvalidDataException($"{path}: safetensors header runs past the end of the file (truncated?)");
        JsonObject header;
        try { header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)n))!.AsObject(); }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        { throw new InvalidDataException($"{path}: unreadable safetensors header ({e.Message})"); }
        long dataStart = 8 + (long)n;
        var entries = new List<Entry>();
        var meta = new Dictionary<string, string>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                foreach (var (k, v) in node!.AsObject()) meta[k] = v!.GetValue<string>();
                continue;
            }
            var dtypeName = node!["dtype"]!.GetValue<string>();
            if (!DTypes.Contains(dtypeName)) throw new InvalidDataException($"{path}: {name} has unsupported dtype {dtypeName}");
            var shape = node["shape"]!.AsArray().Select(v => v!.GetValue<long>()).ToArray();
            var range = node["data_offsets"]!.AsArray();
            long begin = range[0]!.GetValue<long>(), end = range[1]!.GetValue<long>();
            if (begin < 0 || end < begin || dataStart + end > bytes.Length)
                throw new InvalidDataException($"{path}: {name} lies outside the file (truncated?)");
            entries.Add(new Entry(name, dtypeName, shape, bytes.AsMemory((int)(dataStart + begin), (int)(end - begin))));
        }
        return (entries, meta);
    }
}

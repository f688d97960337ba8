using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Malunet.Interop;

/// <summary>
/// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping each tensor
/// name to its dtype, shape and byte range (plus an optional string-to-string <c>__metadata__</c>), then the raw
/// little-endian data. PyTorch reads it with <c>safetensors.torch.load_file</c>.
/// </summary>
public static class Safetensors
{
    private static readonly Dictionary<ScalarType, string> Names = new()
    {
        [ScalarType.Float32] = "F32", [ScalarType.Float64] = "F64", [ScalarType.Float16] = "F16",
        [ScalarType.BFloat16] = "BF16", [ScalarType.Int64] = "I64", [ScalarType.Int32] = "I32",
        [ScalarType.Int16] = "I16", [ScalarType.Int8] = "I8", [ScalarType.Byte] = "U8", [ScalarType.Bool] = "BOOL",
    };

    public static void Write(string path, IEnumerable<(string Name, Tensor Value)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
            header["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)));
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, t) in tensors)
        {
            var bytes = TensorBytes.Of(t);
            header[name] = new JsonObject
            {
                ["dtype"] = Names.TryGetValue(t.dtype, out var dn) ? dn : throw new NotSupportedException($"{name}: unsupported dtype {t.dtype}"),
                ["shape"] = new JsonArray(t.shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            offset += bytes.Length;
            blobs.Add(bytes);
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8; // keeps the data 8-byte aligned
        AtomicFile.Write(path, s =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)padded);
            s.Write(len);
            s.Write(json);
            for (int i = json.Length; i < padded; i++) s.WriteByte((byte)' ');
            foreach (var b in blobs) s.Write(b);
        });
    }

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

    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        var (entries, meta) = ReadEntries(path);
        var tensors = new Dictionary<string, Tensor>();
        foreach (var e in entries)
            tensors[e.Name] = TensorBytes.FromBytes(e.Data.Span, Names.First(kv => kv.Value == e.DType).Key, e.Shape);
        return (tensors, meta);
    }

    /// <summary>
    /// The float32 tensors of a file as managed arrays, without libtorch (for code that runs on ONNX Runtime alone);
    /// a tensor of another dtype is an error naming it.
    /// </summary>
    public static Dictionary<string, (long[] Shape, float[] Values)> ReadFloat32(string path) =>
        ReadEntries(path).Entries.ToDictionary(e => e.Name, e => e.DType == "F32"
            ? (e.Shape, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(e.Data.Span).ToArray())
            : throw new InvalidDataException($"{path}: {e.Name} is {e.DType}, not F32"));

    private readonly record struct Entry(string Name, string DType, long[] Shape, ReadOnlyMemory<byte> Data);

    private static (List<Entry> Entries, Dictionary<string, string> Metadata) ReadEntries(string path)
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
            if (!Names.ContainsValue(dtypeName)) throw new InvalidDataException($"{path}: {name} has unsupported dtype {dtypeName}");
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

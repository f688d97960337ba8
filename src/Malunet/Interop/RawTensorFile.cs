using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Malunet.Interop;

/// <summary>
/// The fixtures' <c>raw-f32le-v1</c> format: <c>NAME.json</c> lists tensors (name, shape, byte offset) stored
/// C-contiguous as little-endian float32 in <c>NAME.bin</c>. Read-only; tensors come back in file order.
/// </summary>
public static class RawTensorFile
{
    /// <summary>The tensors a fixture's JSON index names, in its order.</summary>
    public static List<(string Name, Tensor Value)> Read(string jsonPath)
    {
        var index = JsonNode.Parse(File.ReadAllText(jsonPath))!.AsObject();
        if (index["format"]?.GetValue<string>() != "raw-f32le-v1")
            throw new InvalidDataException($"{jsonPath}: not a raw-f32le-v1 index");
        var binPath = Path.Combine(Path.GetDirectoryName(jsonPath)!, index["file"]!.GetValue<string>());
        var bytes = File.ReadAllBytes(binPath);
        var result = new List<(string, Tensor)>();
        foreach (var e in index["tensors"]!.AsArray())
        {
            var name = e!["name"]!.GetValue<string>();
            var shape = e["shape"]!.AsArray().Select(v => v!.GetValue<long>()).ToArray();
            long offset = e["offset"]!.GetValue<long>(), nbytes = e["nbytes"]!.GetValue<long>();
            if (offset + nbytes > bytes.Length) throw new InvalidDataException($"{binPath}: tensor {name} runs past the end of the file");
            var data = new float[nbytes / 4];
            Buffer.BlockCopy(bytes, (int)offset, data, 0, (int)nbytes);
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian hosts are not supported");
            result.Add((name, tensor(data, shape)));
        }
        return result;
    }
}

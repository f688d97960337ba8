using Malunet.Interop;
using Google.Protobuf;

namespace Malunet.Models;

/// <summary>
/// Writes a network as an ONNX model (opset 17): input <c>image</c> of shape [batch, C, H, W] (dynamic batch, fixed
/// height and width, preprocessed as for <c>malunet predict</c>), output <c>probabilities</c> after the network's
/// activation (a sigmoid for one class, a softmax over the classes for K &gt;= 2), the weights embedded. Runs wherever ONNX Runtime runs, without libtorch.
/// </summary>
public static class OnnxExporter
{
    /// <summary>Writes the ONNX model of <paramref name="model"/> to <paramref name="path"/> (whole or not at all), at its trained input size unless given.</summary>
    public static void Export(SegmentationModel model, string path, int? height = null, int? width = null) =>
        AtomicFile.WriteAllBytes(path, ToBytes(model, height, width));

    /// <summary>
    /// The serialized ONNX model, for a file or for an in-memory ONNX Runtime session; the input size defaults to
    /// the one the network was trained at.
    /// </summary>
    public static byte[] ToBytes(SegmentationModel model, int? inputHeight = null, int? inputWidth = null)
    {
        int height = inputHeight ?? model.InputSize, width = inputWidth ?? model.InputSize;
        if (model is not IOnnxExportable exportable)
            throw new NotSupportedException($"ONNX export is not available for {model.Options.Model}");
        if (height % model.SizeDivisor != 0 || width % model.SizeDivisor != 0)
            throw new ArgumentException($"ONNX input size must be a multiple of {model.SizeDivisor}, got {height}x{width}");
        var g = new OnnxGraphBuilder { InputHeight = height, InputWidth = width };
        var output = exportable.ExportOnnx(g, "image");
        // Name the output: an Identity keeps the last node untouched.
        var named = new Onnx.NodeProto { OpType = "Identity", Name = "output" };
        named.Input.Add(output);
        named.Output.Add("probabilities");
        g.Graph.Node.Add(named);
        var proto = g.ToModel("image", "probabilities", model.Options.InputChannels, height, width,
                              $"malunet {model.Options}; input: per-image min-max scaled RGB 0..255 (the official preprocessing); output: {(model.Options.NumClasses == 1 ? "sigmoid probabilities" : $"softmax probabilities of {model.Options.NumClasses} classes")}");
        var meta = new Onnx.StringStringEntryProto { Key = "model_options", Value = model.Options.ToJson().ToJsonString() };
        proto.MetadataProps.Add(meta);
        return proto.ToByteArray();
    }
}

using System.CommandLine;

namespace Malunet.Cli;

/// <summary><c>--engine onnx|torch</c> of the verbs that segment: ONNX Runtime unless libtorch is asked for.</summary>
public static class EngineOption
{
    public static Option<string> Create()
    {
        var option = new Option<string>("--engine")
        {
            Description = "onnx (ONNX Runtime: exact on every processor, the faster one for inference; checkpoints are exported in memory) or torch (TorchSharp)",
            DefaultValueFactory = _ => "onnx",
        };
        option.AcceptOnlyFromAmong("onnx", "torch");
        return option;
    }

    public static SegmenterEngine Parse(ParseResult r, Option<string> option) =>
        r.GetValue(option) == "torch" ? SegmenterEngine.Torch : SegmenterEngine.Onnx;
}

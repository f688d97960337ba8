using System.CommandLine;
using Malunet.Models;
using Malunet.Native;

namespace Malunet.Cli.Commands;

/// <summary><c>malunet export</c>: write a network's weights in another format.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var weights = new Option<string>("--weights") { Description = "Weights to convert: ours or an official .pth (default: the bundled ISIC 2017 weights)" };
        var format = new Option<string>("--format")
        {
            Description = "onnx (graph with weights, opset 17), pth (PyTorch state_dict for torch.load), safetensors (plain state_dict), or malunet (our checkpoint with options)",
            Required = true,
        };
        format.AcceptOnlyFromAmong("onnx", "pth", "safetensors", "malunet");
        var size = new Option<int?>("--size") { Description = "ONNX input height and width (default: the size the weights were trained at)" };
        var output = new Option<string>("--output") { Description = "Output file", Required = true };
        var cmd = new Command("export", "Export a network: ONNX graph, PyTorch state_dict (.pth, safetensors), or our checkpoint");
        cmd.Options.Add(weights);
        cmd.Options.Add(format);
        cmd.Options.Add(output);
        cmd.Options.Add(size);
        model.AddTo(cmd);
        cmd.SetAction(r =>
        {
            model.Bind(r);
            TorchRuntime.EnsureLoaded();
            var net = model.Load(r, model.WeightsOrBundled(r, r.GetValue(weights)));
            var outPath = r.GetValue(output)!;
            switch (r.GetValue(format))
            {
                case "onnx":
                    int s = r.GetValue(size) ?? net.InputSize;
                    if (s <= 0 || s % net.SizeDivisor != 0) throw new UsageException($"--size must be a positive multiple of {net.SizeDivisor}, got {s}");
                    Malunet.Models.OnnxExporter.Export(net, outPath, s, s);
                    break;
                case "pth":
                    ModelCheckpoint.ExportForPyTorch(outPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) ? outPath + ".pth" : outPath, net);
                    break;
                case "safetensors":
                    if (!outPath.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--format safetensors needs an --output ending in .safetensors");
                    ModelCheckpoint.ExportForPyTorch(outPath, net);
                    break;
                default:
                    ModelCheckpoint.Save(outPath, net);
                    break;
            }
            Console.WriteLine($"wrote {outPath}");
            return 0;
        });
        return cmd;
    }
}

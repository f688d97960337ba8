using System.CommandLine;
using Malunet.Cli.Web;
using Malunet.Interop;
using Malunet.Models;
using Malunet.Native;

namespace Malunet.Cli.Commands;

/// <summary><c>malunet export</c>: write a network's weights in another format.</summary>
public static class ExportCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var weights = new Option<string>("--weights") { Description = "Weights to convert: ours or an official .pth" + ModelArguments.BundledDefault };
        var format = new Option<string>("--format")
        {
            Description = "onnx (graph with weights, opset 17), web (a static site that segments in the browser: --output is a folder), pth (PyTorch state_dict for torch.load), safetensors (plain state_dict), or malunet (our checkpoint with options)",
            Required = true,
        };
        format.AcceptOnlyFromAmong("onnx", "web", "pth", "safetensors", "malunet");
        var size = new Option<int?>("--size") { Description = "ONNX input height and width (default: the size the weights were trained at)" };
        var output = new Option<string>("--output") { Description = "Output file (a folder for --format web)", Required = true };
        var threshold = ThresholdOption.Create("--format web: the threshold the page starts at");
        var cmd = new Command("export", "Export a network: ONNX graph, a static web page that runs it in the browser, PyTorch state_dict (.pth, safetensors), or our checkpoint");
        cmd.Options.Add(weights);
        cmd.Options.Add(format);
        cmd.Options.Add(output);
        cmd.Options.Add(size);
        cmd.Options.Add(threshold);
        model.AddTo(cmd);
        cmd.SetAction(r =>
        {
            model.Bind(r);
            TorchRuntime.EnsureLoaded();
            var weightsPath = model.WeightsOrBundled(r, r.GetValue(weights));
            var net = model.Load(r, weightsPath);
            var outPath = r.GetValue(output)!;
            switch (r.GetValue(format))
            {
                case "onnx":
                    int s = r.GetValue(size) ?? net.InputSize;
                    if (s <= 0 || s % net.SizeDivisor != 0) throw new UsageException($"--size must be a positive multiple of {net.SizeDivisor}, got {s}");
                    Malunet.Models.OnnxExporter.Export(net, outPath, s, s);
                    break;
                case "web":
                    if (net is not IOnnxExportable) throw new UsageException($"--format web: --model {net.Options.Model} has no ONNX form, so it cannot run in a browser");
                    if (r.GetValue(size) is { } webSize && webSize != net.InputSize) throw new UsageException($"--format web runs the network at the size it was trained at ({net.InputSize}); leave out --size");
                    var site = WebSite.Describe(ServeCommand.Describe(net, weightsPath), r.GetValue(threshold), hasOnnx: true, server: false, defaultMode: "browser");
                    WebSite.Export(outPath, OnnxExporter.ToBytes(net), site);
                    Console.WriteLine($"wrote {Path.GetFullPath(outPath)}: serve it with any static web server (python3 -m http.server in that folder), nothing is uploaded");
                    return 0;
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

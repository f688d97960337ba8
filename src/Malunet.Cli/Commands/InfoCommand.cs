using Malunet.Models;
using System.CommandLine;
using System.Text.Json;
using Malunet.Interop;
using Malunet.Native;

namespace Malunet.Cli.Commands;

/// <summary><c>malunet info</c>: parameters and multiply-accumulates, counted as the paper (thop 0.1.1) counts them.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var size = new Option<int>("--size") { Description = "Input height and width for the MAC count", DefaultValueFactory = _ => 256 };
        var json = new Option<bool>("--json") { Description = "Print JSON" };
        var cmd = new Command("info", "Parameter count and multiply-accumulates (thop 0.1.1 counting) of a model");
        model.AddTo(cmd);
        cmd.Options.Add(size);
        cmd.Options.Add(json);
        cmd.SetAction(r =>
        {
            var options = model.Bind(r);
            int s = r.GetValue(size);
            if (s <= 0 || s % 32 != 0) throw new UsageException($"--size must be a positive multiple of 32, got {s}");
            TorchRuntime.EnsureLoaded();
            var net = model.Create(r);
            var report = ModelComplexity.Measure(net, s, options.InputChannels);
            if (r.GetValue(json))
            {
                var o = report.ToJson();
                o["model"] = net.Options.ToJson();
                Console.WriteLine(o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                Console.WriteLine($"model        {net.Options.Model}  {net.Options}");
                Console.WriteLine($"parameters   {report.Parameters:N0} (all tensors)");
                Console.WriteLine($"             {report.ThopParameters:N0} (thop-style: Conv/ConvTranspose/Linear/BatchNorm, no GroupNorm) = {report.ThopParameters / 1e6:F3} M");
                Console.WriteLine($"MACs         {report.Macs:N0} at 1x{options.InputChannels}x{s}x{s} (thop 0.1.1) = {report.Macs / 1e9:F3} G");
                Console.WriteLine($"             {report.ConvLinearMacs:N0} in Conv/Linear layers, {report.AdaptivePoolOps:N0} in adaptive pooling");
            }
            return 0;
        });
        return cmd;
    }
}

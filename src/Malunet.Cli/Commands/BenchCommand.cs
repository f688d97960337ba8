using Malunet.Training;
using Malunet.Models;
using System.CommandLine;
using Malunet.Inference;
using Malunet.Interop;
using TorchSharp;

namespace Malunet.Cli.Commands;

/// <summary><c>malunet bench</c>: counts, then batch-1 latency, batch-8 throughput and (with --train) the training step.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var device = new DeviceArguments();
        var size = new Option<int>("--size") { Description = "Input height and width", DefaultValueFactory = _ => 256 };
        var runs = new Option<int>("--runs") { Description = "Timed runs per measurement (after warm-up)", DefaultValueFactory = _ => 50 };
        var train = new Option<bool>("--train") { Description = "Also time compute-only training steps (batch 8: forward, loss, backward, AdamW)" };
        var trainOnly = new Option<bool>("--train-only") { Description = "Only time training steps" };
        var engine = new Option<string>("--engine") { Description = "torch, onnx (ONNX Runtime on the exported graph) or both", DefaultValueFactory = _ => "both" };
        engine.AcceptOnlyFromAmong("torch", "onnx", "both");
        var cmd = new Command("bench", "Parameters, MACs, latency (batch 1), throughput (batch 8) and training-step time");
        cmd.Options.Add(size); cmd.Options.Add(runs); cmd.Options.Add(train); cmd.Options.Add(trainOnly); cmd.Options.Add(engine);
        model.AddTo(cmd);
        device.AddTo(cmd);
        cmd.SetAction(r =>
        {
            int s = r.GetValue(size), n = r.GetValue(runs);
            if (s <= 0 || s % 32 != 0) throw new UsageException($"--size must be a positive multiple of 32, got {s}");
            if (n < 1) throw new UsageException($"--runs must be at least 1, got {n}");
            var dev = device.Resolve(r);
            var net = model.Create(r);
            var c = ModelComplexity.Measure(net, s, net.Options.InputChannels);
            Console.WriteLine($"model      {net.Options.Model} {net.Options}");
            Console.WriteLine($"params     {c.ThopParameters:N0} (thop) / {c.Parameters:N0} (all); MACs {c.Macs:N0} at {s}x{s}");
            net.to(dev);
            var which = r.GetValue(engine)!;
            if (!r.GetValue(trainOnly) && which is "torch" or "both")
            {
                Console.WriteLine($"engine     torch (TorchSharp {typeof(torch).Assembly.GetName().Version}), device {dev}, threads {torch.get_num_threads()}");
                var b1 = Benchmark.Forward(net, dev, 1, s, 10, n);
                Console.WriteLine($"  batch 1  median {b1.MedianMs:F2} ms, p95 {b1.P95Ms:F2} ms ({b1.Runs} runs)");
                var b8 = Benchmark.Forward(net, dev, 8, s, 3, Math.Max(5, n / 5));
                Console.WriteLine($"  batch 8  median {b8.MedianMs:F1} ms = {b8.MedianMs / 8:F2} ms/image, {8000 / b8.MedianMs:F1} images/s ({b8.Runs} runs)");
            }
            if (!r.GetValue(trainOnly) && which is "onnx" or "both")
            {
                int threads = r.GetValue(device.Threads) ?? torch.get_num_threads();
                using var ort = new OnnxEngine(OnnxExporter.ToBytes(net, s, s), net.Options.Model, threads);
                var (sessions, threadsEach) = OnnxEngine.SessionLayout(threads);
                Console.WriteLine($"engine     onnx (ONNX Runtime {typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version}, CPU), threads {threads}: {sessions} session(s) of {threadsEach} thread(s), each on a share of the batch");
                var b1 = Benchmark.Engine(ort, net.Options.InputChannels, 1, s, 10, n);
                Console.WriteLine($"  batch 1  median {b1.MedianMs:F2} ms, p95 {b1.P95Ms:F2} ms ({b1.Runs} runs)");
                var b8 = Benchmark.Engine(ort, net.Options.InputChannels, 8, s, 3, Math.Max(5, n / 5));
                Console.WriteLine($"  batch 8  median {b8.MedianMs:F1} ms = {b8.MedianMs / 8:F2} ms/image, {8000 / b8.MedianMs:F1} images/s ({b8.Runs} runs)");
            }
            if (r.GetValue(train) || r.GetValue(trainOnly))
            {
                var st = Benchmark.TrainStep(net, dev, 8, s, 3, Math.Max(10, n / 5));
                Console.WriteLine($"engine     torch training, device {dev}, threads {torch.get_num_threads()}");
                Console.WriteLine($"  train step median {st.MedianMs:F1} ms at batch 8 = {8000 / st.MedianMs:F1} images/s compute-only (p95 {st.P95Ms:F1} ms, {st.Runs} steps)");
            }
            return 0;
        });
        return cmd;
    }
}

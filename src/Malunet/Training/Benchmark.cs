using Malunet.Inference;
using System.Diagnostics;
using Malunet.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Training;

/// <summary>Timing summary in milliseconds.</summary>
public sealed record Timing(double MedianMs, double P95Ms, double MeanMs, int Runs)
{
    /// <summary>Median, 95th percentile and mean of the times.</summary>
    public static Timing Of(List<double> ms)
    {
        var s = ms.OrderBy(x => x).ToList();
        return new Timing(s[s.Count / 2], s[Math.Min(s.Count - 1, (int)Math.Ceiling(0.95 * s.Count) - 1)], s.Average(), s.Count);
    }
}

/// <summary>
/// Latency, throughput and training-step timings of a network with the torch engine (after its known answers: a
/// wrong engine is refused, not timed).
/// </summary>
public static class Benchmark
{
    /// <summary>Times the forward pass of batches of <paramref name="batch"/> images (after <paramref name="warmup"/> runs).</summary>
    public static Timing Forward(SegmentationModel model, Device device, int batch, int size, int warmup, int runs)
    {
        TorchKnownAnswers.Ensure(device, model.Options.Model);
        model.eval();
        var times = new List<double>();
        using var _ = no_grad();
        using var x = rand(batch, model.Options.InputChannels, size, size, device: device).mul(255);
        for (int i = 0; i < warmup + runs; i++)
        {
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            var y = model.call(x);
            if (device.type == DeviceType.CUDA) torch.cuda.synchronize();
            sw.Stop();
            if (i >= warmup) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        return Timing.Of(times);
    }

    /// <summary>Latency of any engine on a random preprocessed batch.</summary>
    public static Timing Engine(IInferenceEngine engine, int channels, int batch, int size, int warmup, int runs)
    {
        var times = new List<double>();
        using var x = rand(batch, channels, size, size).mul(255);
        for (int i = 0; i < warmup + runs; i++)
        {
            var sw = Stopwatch.StartNew();
            using var y = engine.Run(x);
            sw.Stop();
            if (i >= warmup) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        return Timing.Of(times);
    }

    /// <summary>Compute-only training steps (forward, BCE+Dice, backward, AdamW) on a fixed random batch.</summary>
    public static Timing TrainStep(SegmentationModel model, Device device, int batch, int size, int warmup, int runs)
    {
        TorchKnownAnswers.Ensure(device, model.Options.Model);
        model.train();
        var opt = new AdamW(model.named_parameters().Select(p => (p.name, p.parameter)));
        opt.To(device);
        var loss = new BceDiceLoss();
        using var x = rand(batch, model.Options.InputChannels, size, size, device: device).mul(255);
        using var t = rand(batch, 1, size, size, device: device).gt(0.7).to(float32);
        var times = new List<double>();
        for (int i = 0; i < warmup + runs; i++)
        {
            using var scope = NewDisposeScope();
            var sw = Stopwatch.StartNew();
            opt.ZeroGrad();
            var l = loss.Compute(model.call(x), t);
            l.backward();
            opt.Step();
            l.item<float>();
            sw.Stop();
            if (i >= warmup) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        return Timing.Of(times);
    }
}

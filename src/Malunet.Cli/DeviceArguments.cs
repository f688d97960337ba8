using System.CommandLine;
using Malunet.Native;
using TorchSharp;

namespace Malunet.Cli;

/// <summary><c>--device</c> and <c>--threads</c>, shared by the commands that run a network.</summary>
public sealed class DeviceArguments
{
    public Option<string> Device { get; } = new("--device") { Description = "cpu, or cuda[:N] with a CUDA libtorch", DefaultValueFactory = _ => "cpu" };
    public Option<int?> Threads { get; } = new("--threads") { Description = "CPU threads for the network, libtorch's or ONNX Runtime's (default: all cores; predict and evaluate give libtorch one for images, whose decoding and encoding use the others)" };

    public void AddTo(Command c)
    {
        c.Options.Add(Device);
        c.Options.Add(Threads);
    }

    /// <summary>
    /// As <see cref="Resolve"/> for a run of the image pipeline (predict on images, evaluate): one libtorch thread
    /// unless --threads says otherwise, so that the decoding and finishing workers have the other cores; libtorch's
    /// OpenMP workers otherwise spin on them. Measured on 2 cores: predict 0.093 against 0.184 s per full-resolution
    /// image; evaluate on the 650 ISIC 2017 test images 44-47 s against 61-82 s, the pooled counts unchanged
    /// (BENCHMARKS.md).
    /// </summary>
    public torch.Device ResolveForImages(ParseResult r) => Resolve(r, 1);

    /// <summary>The engine, with --device checked against it: ONNX Runtime runs on the CPU, so another device needs --engine torch.</summary>
    public SegmenterEngine Engine(ParseResult r, Option<string> engineOption)
    {
        var engine = EngineOption.Parse(r, engineOption);
        if (engine == SegmenterEngine.Onnx && r.GetValue(Device) is { } d && d != "cpu")
            throw new UsageException($"--device {d} runs libtorch: add --engine torch (ONNX Runtime runs on the CPU here)");
        return engine;
    }

    /// <summary>--threads if given, checked; it does not load libtorch.</summary>
    public int? CheckedThreads(ParseResult r) =>
        r.GetValue(Threads) is { } t && t < 1 ? throw new UsageException($"--threads must be at least 1, got {t}") : r.GetValue(Threads);

    /// <summary>
    /// Loads libtorch, applies --threads (else <paramref name="defaultThreads"/>, else libtorch's own choice) and
    /// resolves --device.
    /// </summary>
    public torch.Device Resolve(ParseResult r, int? defaultThreads = null)
    {
        TorchRuntime.EnsureLoaded();
        if ((CheckedThreads(r) ?? defaultThreads) is { } t) torch.set_num_threads(t);
        try { return TorchRuntime.ResolveDevice(r.GetValue(Device)!); }
        catch (ArgumentException e) { throw new UsageException(e); }
    }
}

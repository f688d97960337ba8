using System.CommandLine;
using System.Diagnostics;
using Malunet.Inference;
using Malunet.Native;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace Malunet.Cli.Commands;

/// <summary>
/// <c>malunet doctor</c>: what this machine runs the network with (processor features, the oneDNN ISA in use,
/// libtorch, ONNX Runtime and TurboJPEG) and each engine's known-answer result; exit 1 when any engine fails.
/// </summary>
public static class DoctorCommand
{
    public static Command Create()
    {
        var probe = new Option<bool>("--onednn-probe") { Hidden = true, Description = "run one convolution (for the parent's ONEDNN_VERBOSE probe)" };
        var cmd = new Command("doctor", "Check this machine: processor features, the libraries in use, and each engine's known answers");
        cmd.Options.Add(probe);
        cmd.SetAction(r =>
        {
            if (r.GetValue(probe)) return RunOneConvolution();
            return Report();
        });
        return cmd;
    }

    private static int Report()
    {
        Console.WriteLine($"processor      {CpuFeatures.Model}");
        Console.WriteLine($"vector ISA     {string.Join(' ', CpuFeatures.VectorFlags)}");
        OneDnnIsa.Apply();
        bool failed = false;
        string? torchError = null;
        try { TorchRuntime.EnsureLoaded(); }
        catch (NativeLibraryException e) { torchError = e.Message; failed = true; }
        Console.WriteLine($"oneDNN cap     {OneDnnIsa.Variable}={OneDnnIsa.Effective}" +
                          (Environment.GetEnvironmentVariable(OneDnnIsa.UncappedVariable) == "1" ? $" (uncapped by {OneDnnIsa.UncappedVariable}=1)" : " (libtorch 2.10's AVX-512 oneDNN kernels compute some convolutions wrong)"));
        if (torchError == null)
        {
            Console.WriteLine($"oneDNN in use  {ProbeOneDnnIsa()}");
            Console.WriteLine($"libtorch       {torch.__version__} (TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)}), {torch.get_num_threads()} threads");
        }
        else Console.WriteLine($"libtorch       not loadable: {torchError}");
        string ortVersion;
        try { ortVersion = OrtEnv.Instance().GetVersionString(); }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or OnnxRuntimeException) { ortVersion = $"not loadable: {e.Message}"; failed = true; }
        Console.WriteLine($"ONNX Runtime   {ortVersion}");
        Console.WriteLine($"TurboJPEG      {(TurboJpeg.Available ? "present (libturbojpeg.so.0): full-resolution JPEGs decode 1.5-5x faster" : "absent: SkiaSharp decodes JPEGs (same pixels; apt-get install libturbojpeg0 for speed)")}");
        Console.WriteLine("known answers  (each engine must be within 1e-4 of answers computed in float64)");
        var runs = new List<(string Engine, Func<KnownAnswerResult[]> Run)>();
        if (torchError == null) runs.Add(("torch", () => TorchKnownAnswers.Run(torch.CPU)));
        runs.Add(("onnx", () => KnownAnswers.RunOnnx()));
        foreach (var (engine, run) in runs)
        {
            try
            {
                foreach (var result in run())
                {
                    Console.WriteLine($"  {(result.Passed ? "ok  " : "FAIL")} {result}");
                    failed |= !result.Passed;
                }
            }
            catch (Exception e) when (e is KnownAnswerException or IOException or InvalidDataException or OnnxRuntimeException)
            {
                Console.WriteLine($"  FAIL {engine} engine: {e.Message}");
                failed = true;
            }
        }
        Console.WriteLine(failed
            ? "result         FAIL: an engine above computes wrong outputs here; malunet refuses to run it (exit 3). Report this output."
            : "result         ok: every engine computes its known answers on this processor");
        return failed ? 1 : 0;
    }

    /// <summary>
    /// The ISA oneDNN reports for itself: a child process runs one convolution with ONEDNN_VERBOSE=1 and its
    /// "isa:" line is read (the parent's own oneDNN may already be initialised, and its verbose lines go to stdout).
    /// </summary>
    private static string ProbeOneDnnIsa()
    {
        try
        {
            var exe = Environment.ProcessPath ?? "dotnet";
            var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(exe) == "dotnet") psi.ArgumentList.Add(Environment.GetCommandLineArgs()[0]);
            psi.ArgumentList.Add("doctor");
            psi.ArgumentList.Add("--onednn-probe");
            psi.Environment["ONEDNN_VERBOSE"] = "1";
            using var child = Process.Start(psi)!;
            var errors = child.StandardError.ReadToEndAsync();
            string? isa = null;
            while (child.StandardOutput.ReadLine() is { } line)
                if (isa == null && line.Contains("isa:", StringComparison.Ordinal)) isa = line[(line.IndexOf("isa:", StringComparison.Ordinal) + 4)..].Trim();
            child.WaitForExit();
            _ = errors.Result;
            return isa ?? "not reported (oneDNN ran no primitive, or this libtorch has no oneDNN)";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return $"not probed ({e.Message})";
        }
    }

    private static int RunOneConvolution()
    {
        TorchRuntime.EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        var x = torch.ones(2, 24, 16, 16);
        var w = torch.ones(32, 24, 3, 3);
        _ = torch.nn.functional.conv2d(x, w, padding: [1, 1]).sum().item<float>();
        return 0;
    }
}

using Malunet.Data;
using Malunet.Native;

namespace Malunet.Tests.Cli;

/// <summary>
/// <c>malunet doctor</c>, the refusal of an engine that fails its known answers (exit 3), training that stops with
/// one line when its outputs leave [0, 1], and no NNPACK lines.
/// </summary>
public class DoctorCliTests : TempFolderTest
{
    private static readonly Dictionary<string, string?> Uncapped = new() { [OneDnnIsa.UncappedVariable] = "1", ["ONEDNN_MAX_CPU_ISA"] = null, ["DNNL_MAX_CPU_ISA"] = null };
    private static string Cli => Path.Combine(AppContext.BaseDirectory, "Malunet.Cli.dll");

    [Fact]
    public void Doctor_names_the_processor_the_libraries_and_passes_every_known_answer()
    {
        var r = CliRunner.Run("doctor");
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        foreach (var label in new[] { "processor", "vector ISA", "oneDNN cap", "oneDNN in use", "libtorch", "ONNX Runtime", "TurboJPEG", "known answers", "result" })
            Assert.Contains(r.Stdout.Split('\n'), l => l.StartsWith(label, StringComparison.Ordinal));
        Assert.Contains("ONEDNN_MAX_CPU_ISA=AVX2", r.Stdout);
        Assert.Contains("oneDNN in use  Intel AVX2", r.Stdout); // oneDNN's own word, from a child process
        Assert.Equal(3, r.Stdout.Split('\n').Count(l => l.StartsWith("  ok ", StringComparison.Ordinal)));
        Assert.DoesNotContain("NNPACK", r.Stderr);
    }

    /// <summary>
    /// Without the cap, libtorch 2.10's AVX-512 oneDNN kernels compute MALUNet wrong: on such a processor the torch
    /// engine must refuse (exit 3, one line naming the processor and engine) and doctor must fail; on an AVX2
    /// processor the same kernels are right and both must pass. ONNX Runtime is untouched either way.
    /// </summary>
    [Fact]
    public void Without_the_cap_a_wrong_torch_engine_is_refused_and_ONNX_Runtime_is_not()
    {
        var fixture = Path.Combine(SharedData.Root, "fixtures", "malunet-official-configs", "seed3_default_b3");
        var torch = CliRunner.RunDll(Cli, null, Uncapped, "predict", "--weights", Path.Combine(fixture, "weights.pth"),
            "--input", Path.Combine(fixture, "input.npy"), "--output", Path.Combine(dir, "torch.npy"), "--engine", "torch");
        var onnx = CliRunner.RunDll(Cli, null, Uncapped, "predict", "--weights", Path.Combine(fixture, "weights.pth"),
            "--input", Path.Combine(fixture, "input.npy"), "--output", Path.Combine(dir, "onnx.npy"), "--engine", "onnx");
        var doctor = CliRunner.RunDll(Cli, null, Uncapped, "doctor");
        Assert.True(onnx.ExitCode == 0, onnx.Stderr);
        if (CpuFeatures.HasAvx512)
        {
            Assert.Equal(3, torch.ExitCode);
            var line = Assert.Single(torch.Stderr.Trim().Split('\n'));
            Assert.StartsWith("malunet: error: the torch engine computes wrong outputs on this processor", line);
            Assert.Contains("avx512f", line);
            Assert.False(File.Exists(Path.Combine(dir, "torch.npy")), "an output was written by a refused engine");
            Assert.Equal(1, doctor.ExitCode);
            Assert.Contains("FAIL torch engine, malunet", doctor.Stdout);
        }
        else
        {
            Assert.True(torch.ExitCode == 0, torch.Stderr);
            Assert.True(doctor.ExitCode == 0, doctor.Stdout);
        }
    }

    [Fact]
    public void Training_whose_outputs_become_NaN_stops_with_one_line_naming_epoch_and_batch()
    {
        var data = Path.Combine(dir, "data");
        SyntheticLesions.Write(data, 24, 128);
        var r = CliRunner.Run("train", "--data", data, "--epochs", "2", "--batch-size", "2", "--lr", "1e30",
            "--out", Path.Combine(dir, "run"), "--cache-dir", Path.Combine(dir, "cache"));
        Assert.Equal(1, r.ExitCode);
        // Progress lines ("decoding: 24 images") go to stderr too; the error is one line, without a stack trace.
        var line = Assert.Single(r.Stderr.Trim().Split('\n'), l => l.StartsWith("malunet:", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.Matches(@"^malunet: error: training stopped at epoch \d+, batch \d+: the (network's output is NaN|network's output is outside|loss is)", line);
        Assert.Contains("learning rate", line);
        Assert.DoesNotContain("between 0 and 1", r.Stderr);
    }
}

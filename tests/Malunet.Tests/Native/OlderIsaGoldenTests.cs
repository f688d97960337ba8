namespace Malunet.Tests.Native;

/// <summary>
/// The golden outputs, the golden loss and AdamW step, EGE-UNet's golden and the known answers, each run again in
/// a child process whose oneDNN is capped at an older ISA (<c>ONEDNN_MAX_CPU_ISA</c> is read once per process), so
/// that SSE4.1 and AVX2 kernels are covered on any machine, whichever processor CI has.
/// </summary>
public class OlderIsaGoldenTests
{
    private static readonly string[] Tests =
    [
        "Malunet.Tests.Models.MalunetGoldenTests.Output_matches_official_within_3e5",
        "Malunet.Tests.Models.MalunetGoldenTests.Every_recorded_activation_matches_official",
        "Malunet.Tests.Models.OfficialOutputsGoldenTests.Every_batch_size_matches_official_and_each_image_alone_equals_its_row",
        "Malunet.Tests.Models.PeerGoldenTests.Official_checkpoint_loads_as_it_is_and_the_output_matches",
        "Malunet.Tests.Training.LossAndStepGoldenTests.Loss_of_our_forward_matches_official",
        "Malunet.Tests.Training.LossAndStepGoldenTests.One_AdamW_step_reproduces_official_gradients_and_weights",
        "Malunet.Tests.Inference.KnownAnswersTests.Both_engines_compute_their_known_answers_on_this_processor",
    ];

    [Theory]
    [InlineData("SSE41")]
    [InlineData("AVX2")]
    public void Golden_tests_pass_with_oneDNN_capped_at(string isa)
    {
        var run = Cli.CliRunner.RunDll(typeof(ChildTestRunner).Assembly.Location, null,
            new Dictionary<string, string?> { ["ONEDNN_MAX_CPU_ISA"] = isa, ["DNNL_MAX_CPU_ISA"] = null, [Malunet.Native.OneDnnIsa.UncappedVariable] = null },
            ["--run", .. Tests]);
        var lines = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"oneDNN cap: {isa}", lines);
        Assert.True(run.ExitCode == 0, $"under ONEDNN_MAX_CPU_ISA={isa}:\n{run.Stdout}\n{run.Stderr}");
        // Every named test ran (a theory once per row): none was skipped by a wrong name.
        foreach (var t in Tests) Assert.Contains(lines, l => l.StartsWith($"ok   {t}", StringComparison.Ordinal));
    }
}

using System.Diagnostics;
using Malunet.Data;
using Malunet.Training;

namespace Malunet.Tests.Cli;

public class TrainCliTests : TempFolderTest
{

    [Theory]
    [InlineData("--epochs", "0")]
    [InlineData("--select-on", "everything")]
    [InlineData("--val-ratio", "1.5")]
    [InlineData("--batch-size", "-1")]
    [InlineData("--num-classes", "0")]
    [InlineData("--num-classes", "300")]
    public void Bad_training_flags_exit_2_with_one_line(string flag, string value)
    {
        var r = CliRunner.Run("train", "--data", SharedData.Isic2017, flag, value, "--out", Path.Combine(dir, "x"));
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("malunet: error:", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public void Missing_or_empty_data_folder_is_named_and_leaves_no_run_folder()
    {
        var r = CliRunner.Run("train", "--data", Path.Combine(dir, "nowhere"), "--out", Path.Combine(dir, "x"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("nowhere", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "x")), "a run folder was left behind");
        Directory.CreateDirectory(Path.Combine(dir, "empty"));
        r = CliRunner.Run("train", "--data", Path.Combine(dir, "empty"), "--out", Path.Combine(dir, "y"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("no known dataset layout", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "y")), "a run folder was left behind");
    }

    [Fact]
    public async Task Train_prints_plain_epoch_lines_when_piped_and_ctrl_c_checkpoints_for_resume()
    {
        var data = Path.Combine(dir, "data");
        SyntheticLesions.Write(data, 48, 128);
        var run = Path.Combine(dir, "run");
        var dll = Path.Combine(AppContext.BaseDirectory, "Malunet.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "train", "--data", data, "--epochs", "3", "--batch-size", "2", "--out", run, "--cache-dir", Path.Combine(dir, "cache") })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = new List<string>();
        var started = new ManualResetEventSlim();
        p.OutputDataReceived += (_, e) => { if (e.Data == null) return; lock (stdout) stdout.Add(e.Data); if (e.Data.StartsWith("epoch 1:")) started.Set(); };
        var stderr = p.StandardError.ReadToEndAsync();
        p.BeginOutputReadLine();
        // The signal lands in epoch 2 of 3: after a line that says training runs, with no sleep to guess it.
        Assert.True(started.Wait(TimeSpan.FromMinutes(2)), "epoch 1 did not finish");
        using (var kill = Process.Start("kill", $"-INT {p.Id}")) kill.WaitForExit();
        Assert.True(p.WaitForExit(120_000));
        p.WaitForExit();
        Assert.Equal(130, p.ExitCode);
        Assert.Contains("stopping after this batch", await stderr);
        var folder = new RunFolder(run);
        Assert.True(File.Exists(folder.LastCheckpoint));
        Assert.Empty(Directory.GetFiles(Path.Combine(run, "checkpoints"), "*.tmp"));

        var resumed = CliRunner.Run("train", "--resume", run);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("resuming at epoch", resumed.Stdout);
        Assert.Contains("epoch 3:", resumed.Stdout);
        var zero = CliRunner.Run("train", "--resume", run, "--epochs", "0");
        Assert.Equal(2, zero.ExitCode);
        Assert.Contains("--epochs must be at least 1", zero.Stderr);
        Assert.Equal(3, folder.ReadMetrics().Count);
        Assert.True(File.Exists(folder.TestPath));
    }

    [Fact]
    public void Demo_runs_end_to_end()
    {
        var r = CliRunner.Run("demo", "--images", "16", "--epochs", "1", "--out", Path.Combine(dir, "demo"));
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("epoch 1:", r.Stdout);
        Assert.Contains("best weights", r.Stdout);
        Assert.Single(Directory.GetDirectories(Path.Combine(dir, "demo"), "run-*"));
    }
}

using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Malunet.Tests.Cli;

/// <summary><c>malunet serve</c> as a user starts it: prints its address, answers, stops cleanly on Ctrl-C.</summary>
public class ServeCliTests
{
    [Fact]
    public async Task Serve_prints_its_address_answers_and_stops_on_ctrl_c()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Malunet.Cli.dll"), "serve", "--urls", "http://127.0.0.1:0", "--quiet" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var address = new TaskCompletionSource<string>();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data != null && Regex.Match(e.Data, @"open (http://127\.0\.0\.1:\d+)") is { Success: true } m) address.TrySetResult(m.Groups[1].Value);
        };
        var stderr = p.StandardError.ReadToEndAsync();
        p.BeginOutputReadLine();
        try
        {
            var url = await address.Task.WaitAsync(TimeSpan.FromMinutes(2));
            using var client = new HttpClient();
            Assert.Contains("\"ok\"", await client.GetStringAsync(url + "/api/health"));
            Assert.Contains("id=\"threshold\"", await client.GetStringAsync(url + "/"));
        }
        finally
        {
            using (var kill = Process.Start("kill", $"-INT {p.Id}")) kill.WaitForExit();
            if (!p.WaitForExit(60_000)) p.Kill(true);
        }
        Assert.Equal(0, p.ExitCode);
        var err = await stderr;
        Assert.Contains("using the bundled weights", err);
        Assert.Contains("malunet serve: stopped", err);
    }

    [Theory]
    [InlineData("--queue", "0", "--queue must be at least 1")]
    [InlineData("--urls", "ftp://x", "--urls must be an http:// address")]
    [InlineData("--max-upload-mb", "-1", "--max-upload-mb must be positive")]
    [InlineData("--threshold", "1", "--threshold must be in (0, 1)")]
    public void Bad_serve_options_are_one_line_and_exit_2(string option, string value, string message)
    {
        var r = CliRunner.Run("serve", option, value);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }
}

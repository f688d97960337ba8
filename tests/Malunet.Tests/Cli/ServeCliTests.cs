using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Malunet.Tests.Cli;

/// <summary><c>malunet serve</c> as a user starts it: prints its address, answers, stops cleanly on Ctrl-C.</summary>
public class ServeCliTests
{
    /// <summary>Starts `malunet serve ARGS` on a free loopback port; returns the process, the address it printed and its stderr.</summary>
    private static async Task<(Process Process, string Url, Task<string> Stderr)> Serve(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        var urls = args.Contains("--https-cert") ? "https://127.0.0.1:0" : "http://127.0.0.1:0";
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Malunet.Cli.dll"), "serve", "--urls", urls, "--quiet" }.Concat(args))
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var address = new TaskCompletionSource<string>();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data != null && Regex.Match(e.Data, @"open (https?://127\.0\.0\.1:\d+)") is { Success: true } m) address.TrySetResult(m.Groups[1].Value);
        };
        var stderr = p.StandardError.ReadToEndAsync();
        p.BeginOutputReadLine();
        return (p, await address.Task.WaitAsync(TimeSpan.FromMinutes(2)), stderr);
    }

    private static void Stop(Process p)
    {
        using (var kill = Process.Start("kill", $"-INT {p.Id}")) kill.WaitForExit();
        if (!p.WaitForExit(60_000)) p.Kill(true);
    }

    [Fact]
    public async Task Serve_prints_its_address_answers_and_stops_on_ctrl_c()
    {
        var (p, url, stderr) = await Serve();
        using var _ = p;
        try
        {
            using var client = new HttpClient();
            Assert.Contains("\"ok\"", await client.GetStringAsync(url + "/api/health"));
            Assert.Contains("id=\"threshold\"", await client.GetStringAsync(url + "/"));
        }
        finally { Stop(p); }
        Assert.Equal(0, p.ExitCode);
        var err = await stderr;
        Assert.Contains("using the bundled weights", err);
        Assert.Contains("malunet serve: stopped", err);
    }

    [Fact]
    public async Task Serve_with_a_token_file_refuses_requests_without_it_and_answers_those_with_it()
    {
        var tokenFile = Path.Combine(Path.GetTempPath(), $"malunet-token-{Guid.NewGuid():N}.txt");
        const string token = "cli-token-0123456789abcdef";
        File.WriteAllText(tokenFile, token + "\n");
        var (p, url, _) = await Serve("--token-file", tokenFile);
        using var _p = p;
        try
        {
            var image = Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images", "ISIC_0014600.jpg");
            using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
            HttpRequestMessage Upload()
            {
                var form = new MultipartFormDataContent { { new ByteArrayContent(File.ReadAllBytes(image)), "image", "ISIC_0014600.jpg" } };
                return new HttpRequestMessage(HttpMethod.Post, url + "/api/segment") { Content = form };
            }
            using (var refused = await client.SendAsync(Upload())) Assert.Equal(System.Net.HttpStatusCode.Unauthorized, refused.StatusCode);
            using var request = Upload();
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var answered = await client.SendAsync(request);
            Assert.Equal(System.Net.HttpStatusCode.OK, answered.StatusCode);
            Assert.Contains("\"area_px\"", await answered.Content.ReadAsStringAsync());
        }
        finally
        {
            Stop(p);
            File.Delete(tokenFile);
        }
    }

    [Fact]
    public async Task Serve_over_https_with_a_token_answers_and_a_client_past_its_burst_gets_429()
    {
        var folder = Directory.CreateTempSubdirectory("malunet-tls-").FullName;
        var (certificate, certPath, keyPath) = Malunet.Tests.Serve.TestCertificate.Write(folder);
        using var _c = certificate;
        const string token = "tls-token-0123456789abcdef";
        var (p, url, _) = await Serve("--https-cert", certPath, "--https-key", keyPath,
                                      "--token", token, "--rate-burst", "1", "--rate-limit", "1");
        using var _p = p;
        try
        {
            Assert.StartsWith("https://", url);
            using var client = Malunet.Tests.Serve.TestCertificate.TrustingOnly(certificate);
            var image = Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images", "ISIC_0014600.jpg");
            HttpRequestMessage Upload()
            {
                var form = new MultipartFormDataContent { { new ByteArrayContent(File.ReadAllBytes(image)), "image", "ISIC_0014600.jpg" } };
                var m = new HttpRequestMessage(HttpMethod.Post, url + "/api/segment") { Content = form };
                m.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
                return m;
            }
            using (var first = await client.SendAsync(Upload())) Assert.Equal(System.Net.HttpStatusCode.OK, first.StatusCode);
            using var second = await client.SendAsync(Upload());
            Assert.Equal((System.Net.HttpStatusCode)429, second.StatusCode);
            Assert.NotNull(second.Headers.RetryAfter);
        }
        finally
        {
            Stop(p);
            Directory.Delete(folder, true);
        }
    }

    [Theory]
    [InlineData("--queue", "0", "--queue must be at least 1")]
    [InlineData("--urls", "ftp://x", "--urls must be an http:// address")]
    [InlineData("--rate-limit", "0", "--rate-limit and --rate-burst must be at least 1")]
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

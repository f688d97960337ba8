using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Malunet.Cli.Commands;
using Malunet.Tests.Web;
using Microsoft.Playwright;

namespace Malunet.Tests.Serve;

/// <summary>
/// <c>serve</c> beyond this computer, tested on loopback addresses only: the access token (401 without it, nothing
/// segmented; the page asks for it), HTTPS with a certificate made here, and the per-client rate limit (429).
/// </summary>
public class ServeAccessTests : TempFolderTest
{
    private const string Token = "test-token-6f1c2a9e4b7d";

    private static MultipartFormDataContent Form(string path)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(File.ReadAllBytes(path));
        file.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        form.Add(file, "image", Path.GetFileName(path));
        return form;
    }

    private static async Task<(HttpStatusCode Status, JsonObject Body, HttpResponseMessage Response)> Post(HttpClient client, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/segment") { Content = Form(ServerFixture.FullResolutionImages[2]) };
        if (token != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var response = await client.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject(), response);
    }

    [Fact]
    public async Task Without_the_token_the_api_answers_401_and_segments_nothing_with_it_200()
    {
        await using var own = await ServerFixture.StartOwn(ServerFixture.Options with { Token = Token });
        var (status, body, response) = await Post(own.Client, null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Null(body["mask_png"]);
        // Wrong tokens: differing in the first character, the last, a prefix, a longer one. All refused alike (the
        // comparison hashes both and compares the digests in fixed time, so where they differ does not matter).
        foreach (var wrong in new[] { "x" + Token[1..], Token[..^1] + "x", Token[..8], Token + "0", "" })
            Assert.Equal(HttpStatusCode.Unauthorized, (await Post(own.Client, wrong)).Status);
        using (var health = await own.Client.GetAsync("api/health")) Assert.Equal(HttpStatusCode.Unauthorized, health.StatusCode);

        (status, body, _) = await Post(own.Client, Token);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(body["area_px"]!.GetValue<long>() > 0);
        Assert.NotNull(body["mask_png"]);
        // The page itself loads without the token (it asks for it).
        using var page = await own.Client.GetAsync("");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
    }

    [Fact]
    public async Task A_client_past_its_burst_gets_429_with_retry_after_and_another_limit_does_not_touch_others()
    {
        await using var own = await ServerFixture.StartOwn(ServerFixture.Options with { RateBurst = 2, RatePerMinute = 1 });
        Assert.Equal(HttpStatusCode.OK, (await Post(own.Client, null)).Status);
        Assert.Equal(HttpStatusCode.OK, (await Post(own.Client, null)).Status);
        var (status, body, response) = await Post(own.Client, null);
        Assert.Equal((HttpStatusCode)429, status);
        Assert.Contains("too many requests", body["error"]!.GetValue<string>());
        Assert.True(response.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 }, "no Retry-After");
        // Reading the page and the health are not limited.
        using var health = await own.Client.GetAsync("api/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Https_with_a_pem_certificate_serves_the_api_encrypted()
    {
        var (certificate, certPath, keyPath) = TestCertificate.Write(dir);
        using var _ = certificate;
        var (server, service) = await ServerFixture.Start(ServerFixture.Options with { Urls = "https://127.0.0.1:0", CertificatePath = certPath, KeyPath = keyPath, Token = Token });
        try
        {
            var address = server.Addresses.Single();
            Assert.StartsWith("https://", address);
            string? seen = null;
            using var client = TestCertificate.TrustingOnly(certificate, t => seen = t);
            client.BaseAddress = new Uri(address.TrimEnd('/') + "/");
            var (status, body, _) = await Post(client, Token);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.True(body["area_px"]!.GetValue<long>() > 0);
            Assert.Equal(certificate.Thumbprint, seen);
            // Plain HTTP to the same port is not answered as HTTP.
            using var plain = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => plain.GetAsync(address.Replace("https://", "http://") + "/api/health"));
        }
        finally
        {
            await server.DisposeAsync();
            service.Dispose();
        }
    }

    [Fact]
    public async Task The_page_takes_the_token_from_the_fragment_or_asks_for_it_and_then_segments()
    {
        await using var own = await ServerFixture.StartOwn(ServerFixture.Options with { Token = Token });
        var baseUrl = own.Client.BaseAddress!.ToString().TrimEnd('/');
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);

        // Asked: the first upload gets 401, the page prompts, the token typed in is kept for the tab.
        var asked = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = HeadlessChromium.Viewport });
        int prompts = 0;
        asked.Dialog += async (_, dialog) => { prompts++; await dialog.AcceptAsync(Token); };
        await asked.GotoAsync(baseUrl + "/");
        await asked.Locator("input[name=mode][value=server]").CheckAsync();
        await asked.Locator("#files").SetInputFilesAsync(ServerFixture.FullResolutionImages[2]);
        await Assertions.Expect(asked.Locator(".card.done")).ToHaveCountAsync(1, new() { Timeout = 120_000 });
        Assert.Equal(1, prompts);
        Assert.Equal(Token, await asked.EvaluateAsync<string>("() => sessionStorage.getItem('malunet-token')"));

        // From the fragment: no prompt, and the token leaves the address bar.
        var linked = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = HeadlessChromium.Viewport });
        linked.Dialog += async (_, dialog) => { prompts++; await dialog.DismissAsync(); };
        await linked.GotoAsync(baseUrl + "/#token=" + Token);
        Assert.DoesNotContain(Token, linked.Url);
        await linked.Locator("input[name=mode][value=server]").CheckAsync();
        await linked.Locator("#files").SetInputFilesAsync(ServerFixture.FullResolutionImages[2]);
        await Assertions.Expect(linked.Locator(".card.done")).ToHaveCountAsync(1, new() { Timeout = 120_000 });
        Assert.Equal(1, prompts);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000", true)]
    [InlineData("http://127.3.4.5:80", true)]
    [InlineData("http://localhost:5000", true)]
    [InlineData("http://[::1]:5000", true)]
    [InlineData("http://0.0.0.0:5099", false)]
    [InlineData("http://*:5099", false)]
    [InlineData("http://+:5099", false)]
    [InlineData("http://192.168.1.20:5000", false)]
    public void Loopback_is_127_0_0_0_slash_8_localhost_and_the_ipv6_one(string url, bool loopback) =>
        Assert.Equal(loopback, ServeCommand.IsLoopback(url));

    [Fact]
    public void Serve_refuses_bad_access_options_in_one_line()
    {
        foreach (var (args, message) in new[]
        {
            (new[] { "serve", "--https-cert", "c.pem" }, "--https-cert and --https-key go together"),
            (new[] { "serve", "--token", "short" }, "at least 16 characters"),
            (new[] { "serve", "--urls", "https://127.0.0.1:0" }, "https:// needs --https-cert"),
            (new[] { "serve", "--token-file", Path.Combine(dir, "none.txt") }, "no such token file"),
        })
        {
            var r = Cli.CliRunner.Run(args);
            Assert.True(r.ExitCode is 1 or 2, $"{string.Join(' ', args)}: exit {r.ExitCode}");
            Assert.Contains(message, r.Stderr);
            Assert.Single(r.Stderr.Trim().Split('\n'), l => l.StartsWith("malunet:", StringComparison.Ordinal));
        }
    }
}

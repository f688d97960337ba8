using System.Text.RegularExpressions;
using Malunet.Data;
using Malunet.Tests.Web;
using Microsoft.Playwright;

namespace Malunet.Tests.Serve;

/// <summary>
/// The page in a real headless Chromium (Debian's <c>chromium</c>, driven by Playwright): upload the three
/// full-resolution ISIC images, see the gallery, the contour, the heat map and the area, move the threshold,
/// download the mask. A screenshot is kept in <c>artifacts/serve-page.png</c> at the repository root.
/// </summary>
public class ServePageBrowserTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Uploading_full_resolution_images_shows_contour_heat_map_area_and_a_downloadable_mask()
    {
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = HeadlessChromium.Viewport, AcceptDownloads = true });
        var page = await context.NewPageAsync();
        var consoleErrors = HeadlessChromium.CollectErrors(page);

        await page.GotoAsync(server.BaseUrl + "/");
        await Assertions.Expect(page.Locator("#model")).ToContainTextAsync("M parameters");
        // The network has an ONNX form, so the page offers both modes and starts in the browser; here: the server.
        await Assertions.Expect(page.Locator("#modes")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("input[name=mode][value=browser]")).ToBeCheckedAsync();
        await page.Locator("input[name=mode][value=server]").CheckAsync();
        await Assertions.Expect(page.Locator("#privacy")).ToContainTextAsync("by the server");

        var images = ServerFixture.FullResolutionImages;
        await page.Locator("#files").SetInputFilesAsync(images);
        await Assertions.Expect(page.Locator(".card.done")).ToHaveCountAsync(images.Length, new() { Timeout = 120_000 });
        Assert.Equal(0, await page.Locator(".card.failed").CountAsync());

        // The first image is selected: its name and area (the server's figure at the default threshold) are shown.
        var first = Path.GetFileName(images[0]);
        var expected = await Segment(images[0]);
        var area = page.Locator("#area");
        await Assertions.Expect(area).ToContainTextAsync(first);
        await Assertions.Expect(area).ToContainTextAsync($"{expected.AreaPx:N0} px".Replace("\u00a0", " "));
        await Assertions.Expect(area).ToContainTextAsync($"{100.0 * expected.AreaPx / (expected.Width * expected.Height):F2} %");

        // The contour canvas has contour-green pixels; the heat map canvas differs from the plain image.
        Assert.True(await ContourPixels(page, "#contour") > 100, "no contour drawn");
        var (w, h) = ImageDecoder.ReadSize(images[0]);
        var size = await page.EvaluateAsync<int[]>("() => [document.getElementById('contour').width, document.getElementById('contour').height]");
        Assert.Equal(640, size[0]);
        Assert.Equal((int)Math.Round(640.0 * h / w), size[1]);
        Assert.True(await page.EvaluateAsync<bool>(@"() => {
            const c = document.getElementById('heat'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 0; i < d.length; i += 4) if (d[i] > 150 && d[i + 1] < 90 && d[i + 2] < 90) return true;  // red = high probability
            return false; }"), "the heat map shows no high-probability pixels");

        await page.ScreenshotAsync(new PageScreenshotOptions { Path = HeadlessChromium.ArtifactPath("serve-page.png"), FullPage = true });

        // The slider re-draws without a new request: a higher threshold gives a smaller area.
        int requests = 0;
        page.Request += (_, r) => { if (r.Url.Contains("/api/segment")) requests++; };
        await page.Locator("#threshold").FillAsync("0.9");
        await Assertions.Expect(page.Locator("#thresholdValue")).ToHaveTextAsync("0.90");
        var higher = long.Parse(Regex.Match(await area.InnerTextAsync(), @"lesion area ([\d,]+) px").Groups[1].Value.Replace(",", ""));
        Assert.True(higher < expected.AreaPx, $"area at 0.9 ({higher}) is not below the area at 0.5 ({expected.AreaPx})");
        Assert.Equal(0, requests);

        // Back at 0.5 the download is the server's mask, at the original size.
        await page.Locator("#threshold").FillAsync("0.5");
        var download = await page.RunAndWaitForDownloadAsync(() => page.Locator("#download").ClickAsync());
        Assert.Equal(Path.GetFileNameWithoutExtension(first) + "_mask.png", download.SuggestedFilename);
        var saved = HeadlessChromium.ArtifactPath("downloaded_mask.png");
        await download.SaveAsAsync(saved);
        Assert.Equal(Convert.FromBase64String(expected.MaskPng), await File.ReadAllBytesAsync(saved));

        // Clicking another gallery card selects it.
        await page.Locator(".card").Nth(2).ClickAsync();
        await Assertions.Expect(area).ToContainTextAsync(Path.GetFileName(images[2]));
        Assert.True(await ContourPixels(page, "#contour") > 100, "no contour drawn for the third image");
        Assert.True(consoleErrors.Count == 0, string.Join("\n", consoleErrors));
    }

    private static Task<int> ContourPixels(IPage page, string canvas) => page.EvaluateAsync<int>(@"sel => {
        const c = document.querySelector(sel), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] === 0 && d[i + 1] === 255 && d[i + 2] === 64) n++;
        return n; }", canvas);

    private sealed record Answer(long AreaPx, int Width, int Height, string MaskPng);

    private async Task<Answer> Segment(string path)
    {
        var body = await server.Segment(path);
        return new Answer(body["area_px"]!.GetValue<long>(), body["width"]!.GetValue<int>(), body["height"]!.GetValue<int>(), body["mask_png"]!.GetValue<string>());
    }
}

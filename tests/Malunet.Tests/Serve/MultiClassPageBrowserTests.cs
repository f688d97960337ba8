using System.Text.Json.Nodes;
using Malunet.Cli.Commands;
using Malunet.Cli.Serve;
using Malunet.Data;
using Malunet.Inference;
using Malunet.Models;
using Malunet.Tests.Training;
using Malunet.Tests.Web;
using Microsoft.Playwright;

namespace Malunet.Tests.Serve;

/// <summary>
/// <c>serve</c> with a 3-class network: the API returns the class map and per-class pixels, and the page (in
/// headless Chromium) outlines each class in its own colour, in the browser (ONNX Runtime Web, argmax of the
/// upsampled planes) with the server's class counts, and on the server.
/// </summary>
public class MultiClassPageBrowserTests : TempFolderTest
{
    [Fact]
    public async Task A_three_class_network_is_drawn_one_colour_per_class_in_both_modes()
    {
        var (_, run) = MultiClassTests.TrainThreeClasses();
        var weights = Path.Combine(run, "checkpoints", "best.safetensors");
        var model = ModelCheckpoint.Load(weights);
        var options = ServerFixture.Options;
        var service = new SegmentationService(new Segmenter(new TorchEngine(model, TorchSharp.torch.CPU)), options);
        var description = ServeCommand.Describe(model, weights);
        Assert.Equal(3, description["classes"]!.GetValue<int>());
        Assert.Equal("#00ff00", description["class_colours"]![0]!.GetValue<string>());
        await using var server = await SegmentationServer.StartAsync(service, description, options, OnnxExporter.ToBytes(model));
        using var client = new HttpClient { BaseAddress = new Uri(server.Addresses.Single().TrimEnd('/') + "/") };

        // Lossless images, so the page and the server decode the same pixels.
        var images = Enumerable.Range(0, 3).Select(i =>
        {
            var (rgb, _) = SyntheticLesions.RenderClasses(new Random(500 + i), 160);
            var path = Path.Combine(dir, $"shapes{i}.png");
            ImageDecoder.SavePng(new Image8(160, 160, 3, rgb), path);
            return path;
        }).ToArray();
        var onServer = new Dictionary<string, long[]>();
        foreach (var image in images)
        {
            using var form = new MultipartFormDataContent { { new ByteArrayContent(await File.ReadAllBytesAsync(image)), "image", Path.GetFileName(image) } };
            using var response = await client.PostAsync("api/segment", form);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.True(response.IsSuccessStatusCode, body.ToJsonString());
            var counts = body["class_pixels"]!.AsArray().Select(n => n!.GetValue<long>()).ToArray();
            var labelsPath = Path.Combine(dir, Path.GetFileNameWithoutExtension(image) + "_labels.png");
            await File.WriteAllBytesAsync(labelsPath, Convert.FromBase64String(body["labels_png"]!.GetValue<string>()));
            var map = ClassMasks.Decode(labelsPath).Pixels;
            Assert.Equal(counts, new[] { map.LongCount(v => v == 1), map.LongCount(v => v == 2) });
            Assert.Equal(counts.Sum(), body["area_px"]!.GetValue<long>());
            onServer[Path.GetFileName(image)] = counts;
        }
        Assert.Contains(onServer.Values, c => c[0] > 0 && c[1] > 0);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await HeadlessChromium.LaunchAsync(playwright);
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = HeadlessChromium.Viewport });
        var errors = HeadlessChromium.CollectErrors(page);
        await page.GotoAsync(server.Addresses.Single().TrimEnd('/') + "/");
        await Assertions.Expect(page.Locator("input[name=mode][value=browser]")).ToBeCheckedAsync();

        foreach (var mode in new[] { "browser", "server" })
        {
            await page.Locator($"input[name=mode][value={mode}]").CheckAsync();
            int before = await page.Locator(".card.done").CountAsync();
            await page.Locator("#files").SetInputFilesAsync(images);
            await Assertions.Expect(page.Locator(".card.done")).ToHaveCountAsync(before + images.Length, new() { Timeout = 120_000 });
            var cards = page.Locator(".card.done");
            for (int i = before; i < before + images.Length; i++)
            {
                var card = cards.Nth(i);
                var name = (await card.GetAttributeAsync("data-file"))!;
                var shown = (await card.GetAttributeAsync("data-class-px"))!.Split(',').Select(long.Parse).ToArray();
                var expected = onServer[name];
                for (int c = 0; c < 2; c++)
                {
                    // The server's mode shows the server's map; the page's own computation agrees within 1% (or 3 pixels).
                    long allowed = mode == "server" ? 0 : Math.Max(3, expected[c] / 100);
                    Assert.True(Math.Abs(shown[c] - expected[c]) <= allowed, $"{mode} mode, {name}, class {c + 1}: {shown[c]} px shown, {expected[c]} px on the server");
                }
            }
        }

        // The selected image's outlines: class 1 in green, class 2 in magenta; one swatch per class in the summary.
        await page.Locator(".card.done").Nth(0).ClickAsync();
        await Assertions.Expect(page.Locator(".class-count")).ToHaveCountAsync(2);
        var colours = await page.EvaluateAsync<int[]>(@"() => {
            const c = document.getElementById('contour'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let green = 0, magenta = 0;
            for (let i = 0; i < d.length; i += 4) {
              if (d[i] === 0 && d[i + 1] === 255 && d[i + 2] === 0) green++;
              if (d[i] === 255 && d[i + 1] === 0 && d[i + 2] === 255) magenta++;
            }
            return [green, magenta]; }");
        var first = onServer[Path.GetFileName(images[0])];
        Assert.True(first[0] == 0 || colours[0] > 20, $"no green outline ({colours[0]} px)");
        Assert.True(first[1] == 0 || colours[1] > 20, $"no magenta outline ({colours[1]} px)");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = HeadlessChromium.ArtifactPath("serve-page-classes.png"), FullPage = true });
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}

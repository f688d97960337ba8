using Malunet.Evaluation;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Malunet.Cli.Serve;
using Malunet.Data;
using Malunet.Interop;
using Malunet.Inference;
using Malunet.Models;
using Malunet.Tests.Models;

namespace Malunet.Tests.Serve;

/// <summary>The HTTP API over a real Kestrel on loopback: answers, refusals, and the bounded queue.</summary>
public class ServeApiTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static MultipartFormDataContent Form(byte[] data, string name)
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(data);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "image", name);
        return form;
    }

    private async Task<(HttpStatusCode Status, JsonObject Body)> PostJson(HttpContent content, string url = "api/segment")
    {
        using var response = await server.Client.PostAsync(url, content);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject());
    }

    [Fact]
    public async Task Health_and_model_describe_the_running_network()
    {
        var health = JsonNode.Parse(await server.Client.GetStringAsync("api/health"))!;
        Assert.Equal("ok", health["status"]!.GetValue<string>());
        Assert.True(health["queue"]!["capacity"]!.GetValue<int>() > 0);

        var model = JsonNode.Parse(await server.Client.GetStringAsync("api/model"))!;
        var counts = ModelComplexity.Measure(ModelCatalog.Create(new ModelOptions()), 256, 3);
        Assert.Equal("malunet", model["name"]!.GetValue<string>());
        Assert.Equal(counts.ThopParameters, model["parameters"]!.GetValue<long>());
        Assert.Equal(counts.Macs, model["macs"]!.GetValue<long>());
        Assert.True(model["bundled"]!.GetValue<bool>());
        Assert.Equal(BundledWeights.Card()!["test_650"]!["miou"]!.GetValue<double>(), model["card"]!["test_650"]!["miou"]!.GetValue<double>());
    }

    /// <summary>Every bundled (model, data set) pair: the page's line names the data set and the card's own test score.</summary>
    [Theory]
    [MemberData(nameof(BundledWeightsTests.Bundled), MemberType = typeof(BundledWeightsTests))]
    public void The_model_description_of_bundled_weights_names_their_data_set_and_test_score(string model, string dataset)
    {
        var weights = BundledWeights.Find(model, dataset)!;
        using var net = ModelCheckpoint.Load(weights);
        var described = Malunet.Cli.Commands.ServeCommand.Describe(net, weights);
        var (images, scores) = BundledWeights.PaperSplitTest(BundledWeights.Card(model, dataset)!)!.Value;
        Assert.Equal($"trained on {BundledWeights.DatasetTitle(dataset)}, test mIoU {scores["miou"]!.GetValue<double>().ToString("F4", System.Globalization.CultureInfo.InvariantCulture)} on the paper's {images}-image split",
                     described["trained_on"]!.GetValue<string>());
        Assert.Null(Malunet.Cli.Commands.ServeCommand.Describe(net, Path.Combine(Path.GetTempPath(), "elsewhere.safetensors"))["trained_on"]);
    }

    [Fact]
    public async Task The_page_is_served_at_the_root()
    {
        using var response = await server.Client.GetAsync("");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("id=\"threshold\"", html);
        Assert.Contains("api/segment", html);
    }

    [Fact]
    public async Task Segmenting_a_full_resolution_image_returns_its_mask_area_and_box_at_the_original_size()
    {
        var path = ServerFixture.FullResolutionImages[0];
        var bytes = await File.ReadAllBytesAsync(path);
        var (status, body) = await PostJson(Form(bytes, Path.GetFileName(path)));
        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
        var (w, h) = ImageDecoder.ReadSize(path);
        Assert.Equal(Path.GetFileName(path), body["file"]!.GetValue<string>());
        Assert.Equal(w, body["width"]!.GetValue<int>());
        Assert.Equal(h, body["height"]!.GetValue<int>());

        // The mask is what the predictor gives for the same file, thresholded at 0.5 at the original size.
        var probabilities = server.Segmenter.Predict([server.Segmenter.Load(path)])[0];
        var full = ProbabilityResize.Resize(probabilities, 256, 256, w, h);
        var expected = MaskMetrics.Threshold(full, 0.5);
        var mask = DecodePng(body["mask_png"]!.GetValue<string>());
        Assert.Equal((w, h, 1), (mask.Width, mask.Height, mask.Channels));
        Assert.Equal(expected, mask.Pixels.Select(v => v == 255).ToArray());
        Assert.All(mask.Pixels, v => Assert.True(v is 0 or 255));

        long area = expected.LongCount(m => m);
        Assert.True(area > 0, "the lesion was not found at all");
        Assert.Equal(area, body["area_px"]!.GetValue<long>());
        Assert.Equal((double)area / (w * h), body["area_fraction"]!.GetValue<double>(), 12);
        // The box counted here, row by row, apart from the library's.
        var rows = Enumerable.Range(0, h).Where(y => Enumerable.Range(0, w).Any(x => expected[y * w + x])).ToList();
        var columns = Enumerable.Range(0, w).Where(x => Enumerable.Range(0, h).Any(y => expected[y * w + x])).ToList();
        var box = new BoundingBox(columns[0], rows[0], columns[^1] - columns[0] + 1, rows[^1] - rows[0] + 1);
        var b = body["bbox"]!;
        Assert.Equal(box, new BoundingBox(b["x"]!.GetValue<int>(), b["y"]!.GetValue<int>(), b["width"]!.GetValue<int>(), b["height"]!.GetValue<int>()));
        // The box is tight: every side touches a lesion pixel.
        Assert.Contains(Enumerable.Range(box.Y, box.Height), y => expected[y * w + box.X]);
        Assert.Contains(Enumerable.Range(box.X, box.Width), x => expected[box.Y * w + x]);

        var probability = DecodePng(body["probability_png"]!.GetValue<string>());
        Assert.Equal((w, h), (probability.Width, probability.Height));
        Assert.Equal(MaskOutputs.ProbabilityImage(full, w, h).Pixels, probability.Pixels);
        foreach (var key in new[] { "queue", "decode", "inference", "encode", "total" })
            Assert.True(body["timings_ms"]![key]!.GetValue<double>() >= 0, key);
    }

    [Fact]
    public async Task Accept_image_png_returns_the_mask_itself_and_a_raw_body_works_like_a_form()
    {
        var path = ServerFixture.FullResolutionImages[2];
        var bytes = await File.ReadAllBytesAsync(path);
        var (_, json) = await PostJson(Form(bytes, Path.GetFileName(path)));

        using var request = new HttpRequestMessage(HttpMethod.Post, "api/segment?threshold=0.5") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("image/png"));
        using var response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var png = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(Convert.FromBase64String(json["mask_png"]!.GetValue<string>()), png);
        Assert.Equal(json["area_px"]!.GetValue<long>().ToString(), response.Headers.GetValues("X-Lesion-Area-Pixels").Single());
    }

    [Fact]
    public async Task A_higher_threshold_gives_a_smaller_lesion()
    {
        var path = ServerFixture.FullResolutionImages[1];
        var bytes = await File.ReadAllBytesAsync(path);
        var (_, at05) = await PostJson(Form(bytes, "a.jpg"));
        var (_, at09) = await PostJson(Form(bytes, "a.jpg"), "api/segment?threshold=0.9");
        Assert.Equal(0.9, at09["threshold"]!.GetValue<double>());
        Assert.True(at09["area_px"]!.GetValue<long>() < at05["area_px"]!.GetValue<long>());
    }

    [Fact]
    public async Task The_broken_file_corpus_gets_an_answer_for_every_file_and_the_server_keeps_serving()
    {
        var folder = Directory.CreateTempSubdirectory("malunet-corpus-").FullName;
        try
        {
            var corpus = Malunet.Tests.Data.BrokenFiles.Write(folder);
            foreach (var id in corpus.Good)
            {
                var path = Directory.GetFiles(folder, id + ".*").Single();
                var (status, body) = await PostJson(Form(await File.ReadAllBytesAsync(path), Path.GetFileName(path)));
                Assert.True(status == HttpStatusCode.OK, $"{id}: {status} {body}");
                Assert.True(body["area_px"]!.GetValue<long>() >= 0);
            }
            foreach (var (name, reason) in corpus.Bad)
            {
                var path = Path.Combine(folder, name);
                // An upload carries bytes: a directory or a device has none to send (the empty upload stands for them).
                var bytes = Malunet.Native.RegularFile.Is(path) ? await File.ReadAllBytesAsync(path) : [];
                var (status, body) = await PostJson(Form(bytes, name));
                var expected = name == "huge.png" ? HttpStatusCode.RequestEntityTooLarge : HttpStatusCode.BadRequest;
                Assert.True(status == expected, $"{name}: {status} {body}");
                Assert.StartsWith(name + ": ", body["error"]!.GetValue<string>());
                if (bytes.Length > 0) Assert.Contains(reason, body["error"]!.GetValue<string>());
            }
            var health = JsonNode.Parse(await server.Client.GetStringAsync("api/health"))!;
            Assert.Equal("ok", health["status"]!.GetValue<string>());
        }
        finally { Directory.Delete(folder, true); }
    }

    [Fact]
    public async Task Bad_input_gets_a_4xx_with_a_json_message_and_the_server_keeps_serving()
    {
        var (status, body) = await PostJson(Form(System.Text.Encoding.UTF8.GetBytes("not an image at all"), "notes.txt"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("notes.txt: not a readable image", body["error"]!.GetValue<string>());

        var jpeg = await File.ReadAllBytesAsync(ServerFixture.FullResolutionImages[0]);
        (status, body) = await PostJson(Form(jpeg[..(jpeg.Length / 3)], "truncated.jpg"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.StartsWith("truncated.jpg: truncated or corrupt image data", body["error"]!.GetValue<string>());

        (status, body) = await PostJson(new ByteArrayContent(Array.Empty<byte>()));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("empty request body", body["error"]!.GetValue<string>());

        (status, body) = await PostJson(Form(Array.Empty<byte>(), "empty.jpg"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("empty.jpg: empty file", body["error"]!.GetValue<string>());

        (status, body) = await PostJson(Form(jpeg, "a.jpg"), "api/segment?threshold=1.5");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("threshold", body["error"]!.GetValue<string>());

        var tooLarge = new byte[ServerFixture.Options.MaxUploadBytes + 1];
        jpeg.CopyTo(tooLarge, 0);
        (status, body) = await PostJson(Form(tooLarge, "huge.jpg"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Contains("larger than the limit of 25 MB", body["error"]!.GetValue<string>());

        using (var response = await server.Client.GetAsync("api/nothing-here"))
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("no such endpoint", JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
        }

        (status, body) = await PostJson(Form(jpeg, "a.jpg"));
        Assert.True(status == HttpStatusCode.OK, body.ToJsonString());
    }

    [Fact]
    public async Task Images_with_too_many_pixels_are_refused_from_the_header()
    {
        await using var own = await ServerFixture.StartOwn(ServerFixture.Options with { MaxPixels = 1_000_000 });
        var client = own.Client;
        var path = ServerFixture.FullResolutionImages[0];
        using var response = await client.PostAsync("api/segment", Form(await File.ReadAllBytesAsync(path), "big.jpg"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var (w, h) = ImageDecoder.ReadSize(path);
        Assert.Equal($"big.jpg: {w}x{h} is {(long)w * h:N0} pixels, more than the limit of 1,000,000",
                     JsonNode.Parse(await response.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Concurrent_requests_all_get_the_same_answer()
    {
        var bytes = await File.ReadAllBytesAsync(ServerFixture.FullResolutionImages[2]);
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => PostJson(Form(bytes, "same.jpg"))));
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.Single(answers.Select(a => a.Body["mask_png"]!.GetValue<string>()).Distinct());
    }

    [Fact]
    public async Task Requests_batched_together_are_answered_each_on_its_own_even_beside_bad_ones()
    {
        // Uploads waiting together go through the image pipeline as one batch: a bad one fails alone.
        await using var own = await ServerFixture.StartOwn(ServerFixture.Options with { MaxPixels = 5_500_000, BatchSize = 8 });
        var images = ServerFixture.FullResolutionImages; // 6.0, 6.0 and 5.0 megapixels
        var uploads = new List<(byte[] Data, string Name)>
        {
            (await File.ReadAllBytesAsync(images[2]), "small.jpg"),
            ("not an image"u8.ToArray(), "notes.jpg"),
            (await File.ReadAllBytesAsync(images[0]), "large.jpg"),
            (await File.ReadAllBytesAsync(images[2]), "small-again.jpg"),
        };
        var answers = await Task.WhenAll(uploads.Select(async u =>
        {
            using var response = await own.Client.PostAsync("api/segment", Form(u.Data, u.Name));
            return (response.StatusCode, Body: JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
        }));
        Assert.Equal(new[] { HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.RequestEntityTooLarge, HttpStatusCode.OK },
                     answers.Select(a => a.StatusCode));
        Assert.StartsWith("notes.jpg: ", answers[1].Body["error"]!.GetValue<string>());
        Assert.Contains("more than the limit", answers[2].Body["error"]!.GetValue<string>());
        var single = await server.Segment(images[2]);
        Assert.Equal(single["area_px"]!.GetValue<long>(), answers[0].Body["area_px"]!.GetValue<long>());
        Assert.Equal(answers[0].Body["mask_png"]!.GetValue<string>(), answers[3].Body["mask_png"]!.GetValue<string>());
        // Nothing is left pending.
        var health = JsonNode.Parse(await own.Client.GetStringAsync("api/health"))!;
        Assert.Equal(0, health["queue"]!["pending"]!.GetValue<int>());
    }

    [Fact]
    public async Task A_full_queue_refuses_with_503_instead_of_piling_up()
    {
        await using var own = await ServerFixture.StartOwn(ServerFixture.Options with { QueueCapacity = 1 });
        var client = own.Client;
        var bytes = await File.ReadAllBytesAsync(ServerFixture.FullResolutionImages[0]);
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.PostAsync("api/segment", Form(bytes, "a.jpg"))));
        var codes = responses.Select(r => r.StatusCode).ToList();
        Assert.All(codes, c => Assert.True(c is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable, c.ToString()));
        Assert.Contains(HttpStatusCode.OK, codes);
        var refused = responses.FirstOrDefault(r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
        Assert.True(refused != null, "ten simultaneous uploads to a queue of one were all accepted");
        Assert.Contains("busy", JsonNode.Parse(await refused!.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
        Assert.Equal("1", refused.Headers.RetryAfter?.ToString());
        foreach (var r in responses) r.Dispose();
        // Once the queue drains the server serves again.
        using var after = await client.PostAsync("api/segment", Form(bytes, "a.jpg"));
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task The_onnx_engine_serves_the_same_mask()
    {
        await using var own = await ServerFixture.StartOwn(ServerFixture.Options, onnx: true);
        var path = ServerFixture.FullResolutionImages[1];
        var bytes = await File.ReadAllBytesAsync(path);
        using var viaOnnx = await own.Client.PostAsync("api/segment", Form(bytes, "a.jpg"));
        var (_, viaTorch) = await PostJson(Form(bytes, "a.jpg"));
        var a = DecodePng(JsonNode.Parse(await viaOnnx.Content.ReadAsStringAsync())!["mask_png"]!.GetValue<string>()).Pixels;
        var b = DecodePng(viaTorch["mask_png"]!.GetValue<string>()).Pixels;
        Assert.Equal(b.Length, a.Length);
        // The engines agree within 1e-4 in probability: only pixels at the threshold may flip.
        Assert.True(a.Zip(b).Count(p => p.First != p.Second) <= a.Length / 10000, "ONNX and torch masks differ");
    }

    [Fact]
    public async Task The_model_description_gives_the_page_the_servers_default_threshold()
    {
        await using var own = await ServerFixture.StartOwn(ServerFixture.Options with { Threshold = 0.3 });
        var model = JsonNode.Parse(await own.Client.GetStringAsync("api/model"))!;
        Assert.Equal(0.3, model["threshold"]!.GetValue<double>());
        var page = await own.Client.GetStringAsync("");
        Assert.Contains("m.threshold", page); // the slider reads it
    }

    [Fact]
    public async Task Uploads_stay_in_memory()
    {
        // ASP.NET spills a form file above its buffer threshold to ASPNETCORE_TEMP, read once per process when the
        // first spill happens. Pointed at a folder that does not exist, any spill fails the request with a 500.
        // (No other test spills: the server keeps uploads in memory, which is what is checked here.)
        var saved = Environment.GetEnvironmentVariable("ASPNETCORE_TEMP");
        Environment.SetEnvironmentVariable("ASPNETCORE_TEMP", Path.Combine(Path.GetTempPath(), "malunet-no-such-folder-" + Guid.NewGuid()));
        try
        {
            var bytes = await File.ReadAllBytesAsync(ServerFixture.FullResolutionImages[0]);
            Assert.True(bytes.Length > 64 * 1024, "the upload must exceed ASP.NET's default in-memory form buffer");
            var (status, body) = await PostJson(Form(bytes, "a.jpg"));
            Assert.True(status == HttpStatusCode.OK, $"{status}: {body}");
        }
        finally { Environment.SetEnvironmentVariable("ASPNETCORE_TEMP", saved); }
    }

    private static Image8 DecodePng(string base64)
    {
        var bytes = Convert.FromBase64String(base64);
        var (w, h) = ImageDecoder.ReadSize(bytes, "png");
        var rgb = ImageDecoder.DecodeRgb(bytes, "png");
        var gray = new byte[w * h];
        for (int i = 0; i < gray.Length; i++) gray[i] = rgb.Pixels[3 * i];
        return new Image8(w, h, 1, gray);
    }
}

using System.CommandLine;
using System.Text.Json.Nodes;
using Malunet.Cli.Serve;
using Malunet.Cli.Web;
using Malunet.Inference;
using Malunet.Interop;
using Malunet.Models;

namespace Malunet.Cli.Commands;

/// <summary><c>malunet serve</c>: a local web page and HTTP API that segment dermoscopy images.</summary>
public static class ServeCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var device = new DeviceArguments();
        var defaults = new ServeOptions();
        var weights = new Option<string?>("--weights") { Description = "Weights: our .safetensors checkpoint or an official PyTorch .pth" + ModelArguments.BundledDefault };
        var urls = new Option<string>("--urls") { Description = "Address to listen on (loopback by default; use http://0.0.0.0:PORT to expose it)", DefaultValueFactory = _ => defaults.Urls };
        var maxUpload = new Option<double>("--max-upload-mb") { Description = "Largest accepted image file in MB", DefaultValueFactory = _ => defaults.MaxUploadBytes / (1024.0 * 1024) };
        var maxPixels = PixelLimitOption.Create();
        var queue = new Option<int>("--queue") { Description = "Images that may wait for the inference worker; more get 503", DefaultValueFactory = _ => defaults.QueueCapacity };
        var batch = new Option<int>("--batch-size") { Description = "Most waiting images that run through the network together (decoding and encoding of others go on meanwhile)", DefaultValueFactory = _ => defaults.BatchSize };
        var threshold = ThresholdOption.Create("Default probability threshold (the page's slider starts there)", defaults.Threshold);
        var tta = new Option<bool>("--tta") { Description = "Average each prediction over flips (4 forward passes)" };
        var quiet = new Option<bool>("--quiet") { Description = "Do not log each request" };
        var engineOpt = EngineOption.Create();
        var token = new Option<string?>("--token") { Description = "Access token every API request must carry (Authorization: Bearer TOKEN); required beyond loopback, generated and printed once when not given" };
        var tokenFile = new Option<string?>("--token-file") { Description = "Read the access token from this file (its first line)" };
        var cert = new Option<string?>("--https-cert") { Description = "PEM certificate: serve HTTPS (with --https-key, and https:// in --urls)" };
        var key = new Option<string?>("--https-key") { Description = "PEM private key of --https-cert" };
        var rate = new Option<int>("--rate-limit") { Description = "Segmentations per minute each client address may ask for (beyond a burst of --rate-burst); more get 429", DefaultValueFactory = _ => defaults.RatePerMinute };
        var burst = new Option<int>("--rate-burst") { Description = "Segmentations a client may ask for at once before --rate-limit applies", DefaultValueFactory = _ => defaults.RateBurst };
        var cmd = new Command("serve", "Serve a web page and an HTTP API that segment images (loopback only unless --urls says otherwise)");
        foreach (var o in new Option[] { weights, urls, maxUpload, maxPixels, queue, batch, threshold, tta, quiet, engineOpt, token, tokenFile, cert, key, rate, burst }) cmd.Options.Add(o);
        model.AddTo(cmd);
        device.AddTo(cmd);
        cmd.SetAction(async (r, cancel) =>
        {
            if (r.GetValue(maxUpload) <= 0) throw new UsageException($"--max-upload-mb must be positive, got {r.GetValue(maxUpload)}");
            if (r.GetValue(queue) < 1) throw new UsageException($"--queue must be at least 1, got {r.GetValue(queue)}");
            if (r.GetValue(batch) < 1) throw new UsageException($"--batch-size must be at least 1, got {r.GetValue(batch)}");
            bool https = r.GetValue(cert) != null;
            if (https != (r.GetValue(key) != null)) throw new UsageException("--https-cert and --https-key go together");
            var addresses = r.GetValue(urls)!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var a in addresses)
                if (!Uri.TryCreate(a.Replace("://+", "://0.0.0.0").Replace("://*", "://0.0.0.0"), UriKind.Absolute, out var u) || u.Scheme != (https ? "https" : "http"))
                    throw new UsageException(https ? $"--urls must be https:// addresses with --https-cert, got '{a}'"
                                                   : $"--urls must be an http:// address such as http://127.0.0.1:5000 (https:// needs --https-cert and --https-key), got '{a}'");
            if (r.GetValue(rate) < 1 || r.GetValue(burst) < 1) throw new UsageException("--rate-limit and --rate-burst must be at least 1");
            bool beyondLoopback = addresses.Any(a => !IsLoopback(a));
            var accessToken = r.GetValue(token) ?? (r.GetValue(tokenFile) is { } tf ? ReadToken(tf) : null);
            if (accessToken != null && accessToken.Length < 16) throw new UsageException("the access token must be at least 16 characters");
            bool generated = accessToken == null && beyondLoopback;
            if (generated) accessToken = Base64Url(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
            var options = new ServeOptions
            {
                Token = accessToken,
                CertificatePath = r.GetValue(cert),
                KeyPath = r.GetValue(key),
                RatePerMinute = r.GetValue(rate),
                RateBurst = r.GetValue(burst),
                Urls = r.GetValue(urls)!,
                MaxUploadBytes = (long)(r.GetValue(maxUpload) * 1024 * 1024),
                MaxPixels = PixelLimitOption.Apply(r, maxPixels),
                QueueCapacity = r.GetValue(queue),
                BatchSize = r.GetValue(batch),
                Threshold = r.GetValue(threshold),
                TestTimeAugmentation = r.GetValue(tta),
                LogRequests = !r.GetValue(quiet),
            };
            model.Bind(r);
            var dev = device.Resolve(r);
            var weightsPath = model.WeightsOrBundled(r, r.GetValue(weights));
            var net = model.Load(r, weightsPath);
            var description = Describe(net, weightsPath);
            var onnx = device.Engine(r, engineOpt) == SegmenterEngine.Onnx;
            // The ONNX form serves the page's browser mode, and the server too with --engine onnx.
            byte[]? onnxModel = net is IOnnxExportable ? OnnxExporter.ToBytes(net) : null;
            if (onnx && onnxModel == null) throw new UsageException($"--engine onnx: --model {net.Options.Model} has no ONNX form");
            IInferenceEngine engine = onnx
                ? new OnnxEngine(onnxModel!, Path.GetFileName(weightsPath), r.GetValue(device.Threads))
                : new TorchEngine(net, dev);
            description["engine"] = engine.Name;
            using var segmenter = new Segmenter(engine, new SegmenterOptions { Threshold = options.Threshold, TestTimeAugmentation = options.TestTimeAugmentation, BatchSize = options.BatchSize });
            using var service = new SegmentationService(segmenter, options);
            await using var server = await SegmentationServer.StartAsync(service, description, options, onnxModel);
            Console.WriteLine($"malunet serve: {net.Options.Model} on {(onnx ? "ONNX Runtime (CPU)" : dev.ToString())}, open {string.Join(", ", server.Addresses.Select(a => generated ? $"{a}/#token={accessToken}" : a))} in a browser (Ctrl-C stops)");
            if (generated)
                Console.WriteLine($"malunet serve: access token {accessToken} (generated for this run, kept in memory only; API clients send 'Authorization: Bearer TOKEN')");
            if (beyondLoopback && !https)
                Console.Error.WriteLine("malunet serve: warning: serving beyond this computer without HTTPS: uploads and the token travel unencrypted (use --https-cert and --https-key)");
            if (onnxModel != null && WebSite.RuntimeProblem() is { } missing) Console.Error.WriteLine($"malunet serve: the page segments on the server only: {missing}");
            try { await server.WaitForShutdownAsync(cancel); }
            catch (OperationCanceledException) { }
            Console.Error.WriteLine("malunet serve: stopped");
            return 0;
        });
        return cmd;
    }

    /// <summary>Whether a listening address is this computer only (127.0.0.0/8, ::1, localhost).</summary>
    public static bool IsLoopback(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u)) return false; // "+" and "*" do not parse: every address
        return u.IsLoopback || (System.Net.IPAddress.TryParse(u.Host.Trim('[', ']'), out var ip) && System.Net.IPAddress.IsLoopback(ip));
    }

    private static string ReadToken(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such token file");
        return File.ReadLines(path).FirstOrDefault()?.Trim() is { Length: > 0 } t ? t : throw new InvalidDataException($"{path}: the token file is empty");
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>What <c>GET /api/model</c> reports: architecture, counts, weights file and, for the bundled weights, the model card and its one-line summary.</summary>
    public static JsonObject Describe(SegmentationModel net, string weightsPath)
    {
        var counts = ModelComplexity.Measure(net, net.InputSize, net.Options.InputChannels);
        var dataset = BundledWeights.DatasetOf(weightsPath);
        bool isBundled = dataset != null;
        return new JsonObject
        {
            ["name"] = net.Options.Model,
            ["options"] = net.Options.ToJson(),
            ["parameters"] = counts.ThopParameters,
            ["parameters_all_tensors"] = counts.Parameters,
            ["macs"] = counts.Macs,
            ["input"] = $"{net.Options.InputChannels}x{net.InputSize}x{net.InputSize}",
            ["input_size"] = net.InputSize,
            ["weights"] = Path.GetFileName(weightsPath),
            // Multi-class networks: the page draws class c in class_colours[c - 1], as predict's overlays.
            ["classes"] = net.Options.NumClasses,
            ["class_colours"] = new JsonArray(Enumerable.Range(1, Math.Max(0, net.Options.NumClasses - 1))
                .Select(c => { var (r, g, b) = MaskOutputs.ClassColour(c); return (JsonNode)$"#{r:x2}{g:x2}{b:x2}"; }).ToArray()),
            ["bundled"] = isBundled,
            ["card"] = isBundled ? BundledWeights.Card(net.Options.Model, dataset!) : null,
            // The page's line about the weights, written here so that every data set's card reads the same.
            ["trained_on"] = isBundled ? BundledWeights.Summary(net.Options.Model, dataset!) : null,
        };
    }
}

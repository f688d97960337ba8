using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Malunet.Cli.Web;
using Malunet.Evaluation;

namespace Malunet.Cli.Serve;

/// <summary>
/// <c>malunet serve</c>: an ASP.NET Core minimal API on Kestrel with one page. <c>GET /</c> is the page,
/// <c>POST /api/segment</c> segments an image (multipart form or a raw image body) and answers JSON or, with
/// <c>Accept: image/png</c>, the mask PNG; <c>GET /api/health</c> and <c>GET /api/model</c> describe the server.
/// The page's browser mode needs only static files: <c>model.json</c>, <c>model.onnx</c> and <c>ort/*</c>
/// (<see cref="WebSite"/>). Every response carries the cross-origin isolation headers, so the page may run the
/// network on several WebAssembly threads. Every refusal is a 4xx/5xx status with <c>{"error": "..."}</c>; the
/// server keeps serving.
/// </summary>
public sealed class SegmentationServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly SegmentationService service;

    private SegmentationServer(WebApplication app, SegmentationService service)
    {
        this.app = app;
        this.service = service;
    }

    /// <summary>The addresses Kestrel bound (with the real port when 0 was asked for).</summary>
    public IReadOnlyList<string> Addresses =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();

    /// <summary>
    /// Builds and starts the server; <paramref name="model"/> is what <c>/api/model</c> reports, <paramref name="onnx"/>
    /// the network for the page's browser mode (null: the page segments on the server only).
    /// </summary>
    public static async Task<SegmentationServer> StartAsync(SegmentationService service, JsonObject model, ServeOptions options, byte[]? onnx = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = Array.Empty<string>(), ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(options.Urls);
        var certificate = options.CertificatePath != null ? LoadCertificate(options.CertificatePath, options.KeyPath) : null;
        if (certificate != null) builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(k =>
        {
            // Room for the multipart envelope around the largest accepted file.
            k.Limits.MaxRequestBodySize = options.MaxUploadBytes + 64 * 1024;
            k.AddServerHeader = false;
            if (certificate != null) k.ConfigureHttpsDefaults(h => h.ServerCertificate = certificate);
        });
        // One token bucket per client address for the segmentation endpoint.
        builder.Services.AddRateLimiter(r =>
        {
            r.AddPolicy(PerClient, context => RateLimitPartition.GetTokenBucketLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.RateBurst,
                    TokensPerPeriod = Math.Max(1, options.RatePerMinute / 60),
                    ReplenishmentPeriod = TimeSpan.FromSeconds(options.RatePerMinute >= 60 ? 1 : 60.0 / options.RatePerMinute),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                }));
            r.OnRejected = async (rejected, cancel) =>
            {
                var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
                rejected.HttpContext.Response.StatusCode = 429;
                rejected.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await rejected.HttpContext.Response.WriteAsJsonAsync(new JsonObject { ["error"] = $"too many requests from this address; retry in {seconds} s" }, cancel);
            };
        });
        builder.Services.Configure<FormOptions>(f =>
        {
            f.MultipartBodyLengthLimit = options.MaxUploadBytes + 64 * 1024;
            // Keep uploads in memory: ASP.NET would otherwise spill files over 64 KB to a temporary file.
            f.MemoryBufferThreshold = (int)Math.Min(int.MaxValue, options.MaxUploadBytes + 64 * 1024);
        });
        var app = builder.Build();
        var server = new SegmentationServer(app, service);

        app.Use(async (context, next) =>
        {
            var clock = Stopwatch.StartNew();
            context.Response.Headers["X-Content-Type-Options"] = "nosniff";
            context.Response.Headers["Cross-Origin-Opener-Policy"] = "same-origin";
            context.Response.Headers["Cross-Origin-Embedder-Policy"] = "require-corp";
            try { await next(context); }
            catch (RequestProblem p) { await Error(context, p.Status, p.Message); }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                await Error(context, 413, $"upload larger than the limit of {Mb(options.MaxUploadBytes)}");
            }
            catch (BadHttpRequestException e) { await Error(context, e.StatusCode, e.Message); }
            catch (InvalidDataException e) when (e.Message.Contains("Multipart body length limit"))
            {
                await Error(context, 413, $"upload larger than the limit of {Mb(options.MaxUploadBytes)}");
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested) { }
            catch (Exception e)
            {
                Console.Error.WriteLine($"malunet serve: internal error: {e.GetType().Name}: {e.Message}");
                await Error(context, 500, $"internal error: {e.Message}");
            }
            if (options.LogRequests)
                Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {context.Request.Method} {context.Request.Path} -> {context.Response.StatusCode} in {clock.Elapsed.TotalMilliseconds:F0} ms");
        });

        if (options.Token != null)
        {
            var expected = SHA256.HashData(Encoding.UTF8.GetBytes(options.Token));
            app.Use(async (context, next) =>
            {
                if (context.Request.Path.StartsWithSegments("/api") && !Authorized(context.Request, expected))
                {
                    context.Response.StatusCode = 401;
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    await context.Response.WriteAsJsonAsync(new JsonObject { ["error"] = "this server needs its access token: send 'Authorization: Bearer TOKEN'" });
                    return;
                }
                await next(context);
            });
        }
        app.UseRateLimiter();

        app.MapGet("/", () => Results.Text(WebSite.Page, "text/html; charset=utf-8"));
        app.MapGet("/index.html", () => Results.Text(WebSite.Page, "text/html; charset=utf-8"));
        app.MapGet("/api/health", () => Results.Json(new JsonObject
        {
            ["status"] = "ok",
            ["queue"] = new JsonObject { ["pending"] = service.Pending, ["capacity"] = service.Capacity },
        }));
        // The page's threshold slider starts at the server's default (--threshold).
        model["threshold"] = options.Threshold;
        app.MapGet("/api/model", () => Results.Json(model));
        // The browser mode: with an ONNX form and ONNX Runtime Web present it is where the page starts (test-time
        // augmentation runs on the server only).
        bool browser = onnx != null && WebSite.RuntimeProblem() == null;
        var site = WebSite.Describe(model, options.Threshold, browser, server: true, browser && !options.TestTimeAugmentation ? "browser" : "server");
        app.MapGet("/model.json", () => Results.Json(site));
        if (browser)
        {
            app.MapGet("/model.onnx", () => Results.Bytes(onnx!, WebSite.ContentType("model.onnx")));
            foreach (var file in WebSite.RuntimeFiles)
            {
                var path = Path.Combine(WebSite.RuntimeFolder, file);
                app.MapGet("/" + file, () => Results.File(path, WebSite.ContentType(file)));
            }
        }
        app.MapPost("/api/segment", (HttpContext context) => server.Segment(context, options)).RequireRateLimiting(PerClient);
        app.MapFallback((HttpContext c) => Error(c, 404, $"no such endpoint: {c.Request.Method} {c.Request.Path}"));

        await app.StartAsync();
        return server;
    }

    private const string PerClient = "per-client";

    /// <summary>
    /// Whether the request carries the token. Both sides are hashed first and compared with
    /// <see cref="CryptographicOperations.FixedTimeEquals"/>: the time taken does not depend on where, or whether, a
    /// wrong token differs (nor on its length).
    /// </summary>
    private static bool Authorized(HttpRequest request, byte[] expectedHash)
    {
        var header = request.Headers.Authorization.FirstOrDefault() ?? "";
        var given = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim() : "";
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), expectedHash);
    }

    /// <summary>A PEM certificate with its PEM key (or one PEM file holding both).</summary>
    public static X509Certificate2 LoadCertificate(string certificatePath, string? keyPath)
    {
        foreach (var p in new[] { certificatePath, keyPath })
            if (p != null && !File.Exists(p)) throw new FileNotFoundException($"{p}: no such file");
        try { return X509Certificate2.CreateFromPemFile(certificatePath, keyPath); }
        catch (CryptographicException e) { throw new InvalidDataException($"{certificatePath}: not a PEM certificate with its private key ({e.Message})"); }
    }

    private async Task Segment(HttpContext context, ServeOptions options)
    {
        var request = context.Request;
        double threshold = options.Threshold;
        var (data, name) = await ReadUpload(request, options);
        var t = request.Query["threshold"].FirstOrDefault() ?? (request.HasFormContentType ? request.Form["threshold"].FirstOrDefault() : null);
        if (t != null && !(double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out threshold)
                           && MaskMetrics.ThresholdProblem(threshold) == null))
            throw new RequestProblem(400, $"threshold must be a number in (0, 1), got '{t}'");
        bool png = request.Headers.Accept.Any(a => a != null && a.Contains("image/png", StringComparison.OrdinalIgnoreCase));

        var result = await service.SegmentAsync(data, name, threshold, wantProbability: !png, context.RequestAborted);
        if (png)
        {
            context.Response.Headers["X-Lesion-Area-Pixels"] = result.AreaPixels.ToString();
            // A multi-class network answers with its class map (class indices, as predict's masks).
            await Results.Bytes(result.LabelsPng ?? result.MaskPng, "image/png", Path.GetFileNameWithoutExtension(name) + "_mask.png").ExecuteAsync(context);
            return;
        }
        var json = new JsonObject
        {
            ["file"] = result.File,
            ["width"] = result.Width,
            ["height"] = result.Height,
            ["threshold"] = result.Threshold,
            ["area_px"] = result.AreaPixels,
            ["area_fraction"] = result.AreaFraction,
            ["bbox"] = result.Box == null ? null : new JsonObject { ["x"] = result.Box.X, ["y"] = result.Box.Y, ["width"] = result.Box.Width, ["height"] = result.Box.Height },
            ["mask_png"] = Convert.ToBase64String(result.MaskPng),
            ["probability_png"] = Convert.ToBase64String(result.ProbabilityPng!),
            ["timings_ms"] = new JsonObject(result.TimingsMs.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Math.Round(kv.Value, 1)))),
        };
        if (result.LabelsPng != null)
        {
            json["labels_png"] = Convert.ToBase64String(result.LabelsPng);
            json["class_pixels"] = new JsonArray(result.ClassPixels!.Select(n => (JsonNode)n).ToArray());
        }
        await Results.Json(json).ExecuteAsync(context);
    }

    /// <summary>The uploaded image: the first file of a multipart form, or a raw image body.</summary>
    private static async Task<(byte[] Data, string Name)> ReadUpload(HttpRequest request, ServeOptions options)
    {
        if (request.ContentLength == 0) throw new RequestProblem(400, "empty request body: send an image as multipart/form-data (field 'image') or as the body");
        if (request.ContentLength > options.MaxUploadBytes + 64 * 1024)
            throw new RequestProblem(413, $"upload of {Mb(request.ContentLength!.Value)} is larger than the limit of {Mb(options.MaxUploadBytes)}");
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            var file = form.Files.GetFile("image") ?? form.Files.FirstOrDefault()
                       ?? throw new RequestProblem(400, "the form has no file: send the image in the field 'image'");
            if (file.Length == 0) throw new RequestProblem(400, $"{file.FileName}: empty file");
            if (file.Length > options.MaxUploadBytes)
                throw new RequestProblem(413, $"{file.FileName}: {Mb(file.Length)} is larger than the limit of {Mb(options.MaxUploadBytes)}");
            using var ms = new MemoryStream((int)file.Length);
            await file.CopyToAsync(ms, request.HttpContext.RequestAborted);
            return (ms.ToArray(), Path.GetFileName(file.FileName));
        }
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, request.HttpContext.RequestAborted);
        if (body.Length == 0) throw new RequestProblem(400, "empty request body: send an image as multipart/form-data (field 'image') or as the body");
        if (body.Length > options.MaxUploadBytes)
            throw new RequestProblem(413, $"upload of {Mb(body.Length)} is larger than the limit of {Mb(options.MaxUploadBytes)}");
        return (body.ToArray(), "upload");
    }

    private static string Mb(long bytes) => $"{bytes / (1024.0 * 1024):0.#} MB";

    private static Task Error(HttpContext context, int status, string message)
    {
        if (context.Response.HasStarted) return Task.CompletedTask;
        context.Response.Clear();
        context.Response.StatusCode = status;
        if (status == 503) context.Response.Headers.RetryAfter = "1";
        return context.Response.WriteAsJsonAsync(new JsonObject { ["error"] = message });
    }

    public Task WaitForShutdownAsync(CancellationToken cancel) => app.WaitForShutdownAsync(cancel);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

using System.Text.Json.Nodes;
using Malunet.Cli.Commands;
using Malunet.Cli.Serve;
using Malunet.Inference;
using Malunet.Models;
using static TorchSharp.torch;

namespace Malunet.Tests.Serve;

/// <summary>A real Kestrel server with the bundled weights on a free loopback port (port 0: the OS picks).</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private SegmentationServer? server;
    private SegmentationService? service;

    public HttpClient Client { get; } = new() { Timeout = TimeSpan.FromMinutes(2) };
    public string BaseUrl { get; private set; } = "";
    public SegmentationModel Model { get; private set; } = null!;
    public Segmenter Segmenter { get; private set; } = null!;
    public JsonObject Description { get; private set; } = null!;

    /// <summary>Options of this server; tests of limits start their own with <see cref="Start"/>.</summary>
    public static ServeOptions Options => new() { Urls = "http://127.0.0.1:0", LogRequests = false };

    public async Task InitializeAsync()
    {
        var weights = BundledWeights.Find() ?? throw new FileNotFoundException("bundled weights not found");
        Model = ModelCheckpoint.Load(weights);
        Segmenter = new Segmenter(new TorchEngine(Model, CPU));
        Description = ServeCommand.Describe(Model, weights);
        (server, service) = await Start(Options);
        BaseUrl = server.Addresses.Single().TrimEnd('/');
        Client.BaseAddress = new Uri(BaseUrl + "/");
    }

    /// <summary>Starts a server with its own copy of the bundled network.</summary>
    public static async Task<(SegmentationServer, SegmentationService)> Start(ServeOptions options, bool onnx = false)
    {
        var weights = BundledWeights.Find()!;
        var model = ModelCheckpoint.Load(weights);
        IInferenceEngine engine = onnx ? new OnnxEngine(Malunet.Models.OnnxExporter.ToBytes(model), "bundled") : new TorchEngine(model, CPU);
        var service = new SegmentationService(new Segmenter(engine, new SegmenterOptions { Threshold = options.Threshold, BatchSize = options.BatchSize }), options);
        var server = await SegmentationServer.StartAsync(service, ServeCommand.Describe(model, weights), options, Malunet.Models.OnnxExporter.ToBytes(model));
        return (server, service);
    }

    /// <summary>A second server with other limits, and a client for it; disposing stops both.</summary>
    public sealed class OwnServer(SegmentationServer server, SegmentationService service) : IAsyncDisposable
    {
        public HttpClient Client { get; } = new() { BaseAddress = new Uri(server.Addresses.Single().TrimEnd('/') + "/"), Timeout = TimeSpan.FromMinutes(2) };

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await server.DisposeAsync();
            service.Dispose();
        }
    }

    public static async Task<OwnServer> StartOwn(ServeOptions options, bool onnx = false)
    {
        var (server, service) = await Start(options, onnx);
        return new OwnServer(server, service);
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        if (server != null) await server.DisposeAsync();
        service?.Dispose();
    }

    /// <summary>The server's JSON answer for one image file (multipart upload, default threshold).</summary>
    public async Task<JsonNode> Segment(string path)
    {
        using var form = new MultipartFormDataContent { { new ByteArrayContent(await File.ReadAllBytesAsync(path)), "image", Path.GetFileName(path) } };
        using var response = await Client.PostAsync("api/segment", form);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.True(response.IsSuccessStatusCode, $"{path}: {body}");
        return body;
    }

    public static string[] FullResolutionImages =>
        Directory.GetFiles(Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images")).OrderBy(f => f, StringComparer.Ordinal).ToArray();
}

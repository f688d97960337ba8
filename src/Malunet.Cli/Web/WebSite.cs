using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Malunet.Cli.Web;

/// <summary>
/// The browser page and the static files it needs to segment images on the user's own device: <c>index.html</c>,
/// <c>model.json</c> (what the page shows and which modes it offers), <c>model.onnx</c>, ONNX Runtime Web's
/// WebAssembly build under <c>ort/</c> and libjpeg-turbo's under <c>jpeg/</c>. <c>malunet serve</c> hands these out beside its API;
/// <c>malunet export --format web</c> writes them to a folder that any static file server can serve.
/// </summary>
public static class WebSite
{
    /// <summary>
    /// The files from npm that the page loads, as paths relative to the site (<c>ort/...</c>, <c>jpeg/...</c>): the
    /// project file's <c>WebRuntimeFile</c> items, which the build copies to <c>web/</c> and records in the assembly's
    /// metadata.
    /// </summary>
    public static readonly IReadOnlyList<string> RuntimeFiles =
        (Assembly.GetExecutingAssembly().GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "WebRuntimeFiles")?.Value
         ?? throw new InvalidOperationException("the build did not record the page's run-time files")).Split(';');

    /// <summary>Where the build put the run-time files, beside the program.</summary>
    public static string RuntimeFolder => Path.Combine(AppContext.BaseDirectory, "web");

    /// <summary>What tells a folder written by <see cref="Export"/> from any other (so it may be replaced).</summary>
    private const string Generator = "malunet export --format web";

    private static readonly Lazy<string> page = new(() =>
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("Malunet.Cli.Web.index.html")
                      ?? throw new InvalidOperationException("the page resource is missing from the build");
        return new StreamReader(s).ReadToEnd();
    });

    /// <summary>The page (the same for the server and for a static export).</summary>
    public static string Page => page.Value;

    /// <summary>Null when the page's run-time files are beside the program, else why the browser mode cannot run.</summary>
    public static string? RuntimeProblem()
    {
        var missing = RuntimeFiles.FirstOrDefault(f => !File.Exists(Path.Combine(RuntimeFolder, f)));
        return missing == null ? null
            : $"the browser page's run-time files are missing from this build ({Path.Combine(RuntimeFolder, missing)}): install Node.js 20 with npm and rebuild (the build runs npm ci in src/Malunet.Cli/Web)";
    }

    /// <summary>
    /// <c>model.json</c>: the model description (as <c>/api/model</c>, with the network's <c>input_size</c>), the
    /// page's starting threshold, the ONNX file when the browser can run the network, whether a server answers
    /// <c>api/segment</c>, and the mode the page starts in.
    /// </summary>
    public static JsonObject Describe(JsonObject model, double threshold, bool hasOnnx, bool server, string defaultMode)
    {
        var site = (JsonObject)model.DeepClone();
        site["generator"] = server ? "malunet serve" : Generator;
        site["threshold"] = threshold;
        site["onnx"] = hasOnnx ? "model.onnx" : null;
        site["server"] = server;
        site["default_mode"] = defaultMode;
        return site;
    }

    /// <summary>The content type of one of the site's files.</summary>
    public static string ContentType(string name) => Path.GetExtension(name).ToLowerInvariant() switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" or ".mjs" => "text/javascript; charset=utf-8",
        ".wasm" => "application/wasm",
        ".json" => "application/json; charset=utf-8",
        ".txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };

    /// <summary>
    /// Writes the static site to <paramref name="folder"/>: first beside it under a temporary name, then moved into
    /// place, so an interrupted export leaves no half-written site. A folder from an earlier export is replaced; any
    /// other non-empty folder is refused.
    /// </summary>
    public static void Export(string folder, byte[] onnx, JsonObject site)
    {
        if (RuntimeProblem() is { } problem) throw new IOException(problem);
        folder = Path.GetFullPath(folder);
        if (File.Exists(folder)) throw new IOException($"{folder}: is a file; give a folder for the web export");
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any() && !IsEarlierExport(folder))
            throw new IOException($"{folder}: exists and is not a malunet web export; choose a new or empty folder");
        var parent = Path.GetDirectoryName(folder)!;
        Directory.CreateDirectory(parent);
        var partial = Path.Combine(parent, $".{Path.GetFileName(folder)}.partial-{Environment.ProcessId}");
        if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
        try
        {
            Directory.CreateDirectory(partial);
            File.WriteAllText(Path.Combine(partial, "index.html"), Page);
            File.WriteAllText(Path.Combine(partial, "model.json"), site.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            File.WriteAllBytes(Path.Combine(partial, "model.onnx"), onnx);
            foreach (var f in RuntimeFiles)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(partial, f))!);
                File.Copy(Path.Combine(RuntimeFolder, f), Path.Combine(partial, f));
            }
            File.WriteAllText(Path.Combine(partial, "README.txt"), ReadMe);
            File.WriteAllText(Path.Combine(partial, "serve_isolated.py"), IsolatedServer);
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.Move(partial, folder);
        }
        catch
        {
            if (Directory.Exists(partial)) Directory.Delete(partial, recursive: true);
            throw;
        }
    }

    private static bool IsEarlierExport(string folder)
    {
        var json = Path.Combine(folder, "model.json");
        if (!File.Exists(json)) return false;
        try { return JsonNode.Parse(File.ReadAllText(json))?["generator"]?.GetValue<string>() == Generator; }
        catch (JsonException) { return false; }
    }

    private const string ReadMe = """
        malunet in the browser: skin-lesion segmentation that runs on this device. Images are decoded, segmented and
        drawn inside the page; nothing is uploaded.

        Serve this folder with any static web server and open it, for example:

            python3 -m http.server 8000        (then open http://localhost:8000/)

        The network then runs on one WebAssembly thread. Browsers allow several threads only to pages that are
        cross-origin isolated, that is served with the headers

            Cross-Origin-Opener-Policy: same-origin
            Cross-Origin-Embedder-Policy: require-corp

        serve_isolated.py here is python3 -m http.server with those two headers: python3 serve_isolated.py 8000.
        Opening index.html straight from the disk (file://) does not work: browsers do not load WebAssembly that way.

        Files: index.html (the page), model.json (the model's description), model.onnx (the network), ort/ (ONNX
        Runtime Web 1.30.0, MIT licence, https://onnxruntime.ai), jpeg/ (libjpeg-turbo compiled to WebAssembly, npm
        @cwasm/jpeg-turbo 0.1.3, MIT licence; libjpeg-turbo's own licences, https://libjpeg-turbo.org). Research use
        only; not a medical device.

        """;

    private const string IsolatedServer = """
        # python3 -m http.server with the two headers that let the page run the network on several threads.
        import functools
        import http.server
        import sys


        class IsolatedHandler(http.server.SimpleHTTPRequestHandler):
            extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                              ".mjs": "text/javascript", ".wasm": "application/wasm"}

            def end_headers(self):
                self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
                super().end_headers()


        if __name__ == "__main__":
            port = int(sys.argv[1]) if len(sys.argv) > 1 else 8000
            handler = functools.partial(IsolatedHandler, directory=sys.path[0])
            print(f"serving on http://localhost:{port}/ (cross-origin isolated)")
            http.server.ThreadingHTTPServer(("", port), handler).serve_forever()

        """;
}

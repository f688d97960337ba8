using System.Text.Json.Nodes;
using Malunet.Inference;

namespace Malunet.Models;

/// <summary>
/// The weights shipped with the project, one file per architecture (<c>weights/&lt;model&gt;-isic2017.safetensors</c>,
/// trained with our pipeline on the ISIC 2017 split of the paper; MALUNet's first), each with its model card
/// (<c>&lt;model&gt;-isic2017.card.json</c>). The build copies them beside the program; a checkout also finds them in
/// its <c>weights/</c> folder.
/// </summary>
public static class BundledWeights
{
    /// <summary>The architecture whose weights are used when none is named: MALUNet.</summary>
    public const string DefaultModel = "malunet";

    /// <summary>The file name of <paramref name="model"/>'s bundled checkpoint.</summary>
    public static string FileName(string model = DefaultModel) => $"{model}-isic2017.safetensors";

    /// <summary>The bundled weights of <paramref name="model"/>, or null if this installation has none.</summary>
    public static string? Find(string model = DefaultModel) => Locate(FileName(model));

    /// <summary>
    /// The bundled weights of <paramref name="model"/> exported as ONNX (<c>weights/&lt;model&gt;-isic2017.onnx</c>), or
    /// null. A test keeps the file equal, byte for byte, to what what the exporter writes for the bundled
    /// weights today (the Malunet package's <c>OnnxExporter</c>); it spares ONNX Runtime users loading libtorch to export them.
    /// </summary>
    public static string? FindOnnx(string model = DefaultModel) => Locate($"{model}-isic2017.onnx");

    /// <summary>The machine-readable model card (data, recipe, metrics) of <paramref name="model"/>'s weights, or null.</summary>
    public static JsonObject? Card(string model = DefaultModel)
    {
        var p = Locate($"{model}-isic2017.card.json");
        return p == null ? null : JsonNode.Parse(File.ReadAllText(p))!.AsObject();
    }

    /// <summary>What the bundled weights of <paramref name="model"/> are, in one line (from their card).</summary>
    public static string Describe(string model = DefaultModel)
    {
        var metrics = Card(model)?["test_650"]?["miou"] is { } m
            ? $", test mIoU {m.GetValue<double>().ToString("F4", System.Globalization.CultureInfo.InvariantCulture)} on the paper's 650-image split" : "";
        return $"trained on ISIC 2017{metrics}; see weights/MODEL_CARD.md";
    }

    /// <summary>The architectures that have bundled weights here, as <paramref name="extension"/> files
    /// (<c>.safetensors</c> for the torch engine, <c>.onnx</c> for ONNX Runtime): MALUNet first, then by name.</summary>
    public static IEnumerable<string> Models(string extension = ".safetensors")
    {
        var suffix = "-isic2017" + extension;
        var folder = Locate(KnownAnswers.FileName) is { } known ? Path.GetDirectoryName(known)! : null;
        if (folder == null) return [];
        return Directory.EnumerateFiles(folder, "*" + suffix).Select(f => Path.GetFileName(f)[..^suffix.Length])
                        .OrderBy(m => m != DefaultModel).ThenBy(m => m, StringComparer.Ordinal).ToList();
    }

    internal static string? Locate(string name)
    {
        var beside = Path.Combine(AppContext.BaseDirectory, "weights", name);
        if (File.Exists(beside)) return beside;
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        {
            var p = Path.Combine(d.FullName, "weights", name);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}

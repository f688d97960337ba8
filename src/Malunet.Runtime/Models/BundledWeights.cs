using System.Globalization;
using System.Text.Json.Nodes;

namespace Malunet.Models;

/// <summary>
/// The weights shipped with the project, one file per architecture and training data set
/// (<c>weights/&lt;model&gt;-&lt;dataset&gt;.safetensors</c>, trained with our pipeline on the paper's split of ISIC 2017
/// or ISIC 2018; MALUNet's first), each with its model card (<c>&lt;model&gt;-&lt;dataset&gt;.card.json</c>) and, for
/// MALUNet, its ONNX export. The build copies them beside the program; a checkout also finds them in its
/// <c>weights/</c> folder. ISIC 2017 is the default data set.
/// </summary>
public static class BundledWeights
{
    /// <summary>The architecture whose weights are used when none is named: MALUNet.</summary>
    public const string DefaultModel = "malunet";

    /// <summary>The data set whose weights are used when none is named: ISIC 2017, the paper's first table.</summary>
    public const string DefaultDataset = "isic2017";

    /// <summary>The data sets bundled weights may be trained on.</summary>
    public static readonly IReadOnlyList<string> Datasets = ["isic2017", "isic2018"];

    /// <summary>A data set's name as people write it ("ISIC 2017").</summary>
    public static string DatasetTitle(string dataset) => dataset.StartsWith("isic", StringComparison.Ordinal) ? $"ISIC {dataset[4..]}" : dataset;

    /// <summary>The file name of <paramref name="model"/>'s bundled checkpoint.</summary>
    public static string FileName(string model = DefaultModel, string dataset = DefaultDataset) => $"{model}-{Checked(dataset)}.safetensors";

    /// <summary>The bundled weights of <paramref name="model"/> trained on <paramref name="dataset"/>, or null if this installation has none.</summary>
    public static string? Find(string model = DefaultModel, string dataset = DefaultDataset) => Locate(FileName(model, dataset));

    /// <summary>
    /// The bundled weights exported as ONNX (<c>weights/&lt;model&gt;-&lt;dataset&gt;.onnx</c>), or null. A test keeps
    /// each file equal, byte for byte, to what the exporter (the Malunet package's <c>OnnxExporter</c>) writes for the
    /// bundled weights today; it spares ONNX Runtime users loading libtorch to export them.
    /// </summary>
    public static string? FindOnnx(string model = DefaultModel, string dataset = DefaultDataset) => Locate($"{model}-{Checked(dataset)}.onnx");

    /// <summary>
    /// The data set of the bundled weights file at <paramref name="path"/> (a <c>.safetensors</c> checkpoint or its
    /// <c>.onnx</c> export in this installation's weights folder), or null if the path is not one of them.
    /// </summary>
    public static string? DatasetOf(string path)
    {
        var full = Path.GetFullPath(path);
        var name = Path.GetFileName(full);
        return Datasets.FirstOrDefault(d => (name.EndsWith($"-{d}.safetensors", StringComparison.Ordinal) || name.EndsWith($"-{d}.onnx", StringComparison.Ordinal))
                                            && Locate(name) is { } bundled && Path.GetFullPath(bundled) == full);
    }

    /// <summary>The machine-readable model card (data, recipe, metrics) of the weights, or null.</summary>
    public static JsonObject? Card(string model = DefaultModel, string dataset = DefaultDataset)
    {
        var p = Locate($"{model}-{Checked(dataset)}.card.json");
        return p == null ? null : JsonNode.Parse(File.ReadAllText(p))!.AsObject();
    }

    /// <summary>
    /// The card's test scores on the paper's split: its <c>test_N</c> entry (N test images), or null.
    /// </summary>
    public static (int Images, JsonNode Scores)? PaperSplitTest(JsonObject card) =>
        card.Where(kv => kv.Key.StartsWith("test_", StringComparison.Ordinal) && int.TryParse(kv.Key[5..], out _))
            .Select(kv => ((int, JsonNode)?)(int.Parse(kv.Key[5..], CultureInfo.InvariantCulture), kv.Value!)).FirstOrDefault();

    /// <summary>What the bundled weights are, in one line (from their card), pointing to the model cards.</summary>
    public static string Describe(string model = DefaultModel, string dataset = DefaultDataset) => $"{Summary(model, dataset)}; see weights/MODEL_CARD.md";

    /// <summary>The data set and test score of the bundled weights, from their card: "trained on ISIC 2017, test mIoU 0.8073 on the paper's 650-image split".</summary>
    public static string Summary(string model = DefaultModel, string dataset = DefaultDataset)
    {
        var metrics = Card(model, dataset) is { } card && PaperSplitTest(card) is var (images, scores) && scores["miou"] is { } m
            ? $", test mIoU {m.GetValue<double>().ToString("F4", CultureInfo.InvariantCulture)} on the paper's {images}-image split" : "";
        return $"trained on {DatasetTitle(dataset)}{metrics}";
    }

    /// <summary>The architectures that have bundled weights trained on <paramref name="dataset"/> here, as
    /// <paramref name="extension"/> files (<c>.safetensors</c> for the torch engine, <c>.onnx</c> for ONNX Runtime):
    /// MALUNet first, then by name.</summary>
    public static IEnumerable<string> Models(string extension = ".safetensors", string dataset = DefaultDataset)
    {
        var suffix = $"-{Checked(dataset)}{extension}";
        // The weights folder: where the default model's ISIC 2017 card is (every installation has it).
        var folder = Locate($"{DefaultModel}-{DefaultDataset}.card.json") is { } card ? Path.GetDirectoryName(card)! : null;
        if (folder == null) return [];
        return Directory.EnumerateFiles(folder, "*" + suffix).Select(f => Path.GetFileName(f)[..^suffix.Length])
                        .OrderBy(m => m != DefaultModel).ThenBy(m => m, StringComparer.Ordinal).ToList();
    }

    private static string Checked(string dataset) => Datasets.Contains(dataset) ? dataset
        : throw new ArgumentException($"no bundled weights are trained on '{dataset}'; the data sets are {string.Join(", ", Datasets)}");

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

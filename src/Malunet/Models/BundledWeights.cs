using System.Text.Json.Nodes;

namespace Malunet.Models;

/// <summary>
/// The MALUNet weights shipped with the project (<c>weights/malunet-isic2017.safetensors</c>, trained with our
/// pipeline on the ISIC 2017 split of the paper) and their model card. The build copies them beside the program;
/// a checkout also finds them in its <c>weights/</c> folder.
/// </summary>
public static class BundledWeights
{
    public const string FileName = "malunet-isic2017.safetensors";
    public const string CardFileName = "malunet-isic2017.card.json";

    /// <summary>The bundled weights file, or null if this installation has none.</summary>
    public static string? Find() => Locate(FileName);

    /// <summary>The machine-readable model card (data, recipe, metrics), or null.</summary>
    public static JsonObject? Card()
    {
        var p = Locate(CardFileName);
        return p == null ? null : JsonNode.Parse(File.ReadAllText(p))!.AsObject();
    }

    private static string? Locate(string name)
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

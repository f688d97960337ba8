using System.Text.Json.Nodes;
using Malunet.Interop;
using static TorchSharp.torch;

namespace Malunet.Models;

/// <summary>Where a weights file came from and what it says about the model.</summary>
public enum WeightsKind
{
    /// <summary>Our checkpoint: safetensors with the model options in its metadata.</summary>
    Malunet,
    /// <summary>A PyTorch <c>torch.save</c> file (official <c>best.pth</c> or <c>latest.pth</c>).</summary>
    PyTorch,
    /// <summary>A safetensors file without our metadata.</summary>
    Safetensors,
}

/// <summary>Tensors read from a weights file, with the model options stored in it (ours only).</summary>
public sealed record WeightsFile(string Path, WeightsKind Kind, Dictionary<string, Tensor> Tensors, ModelOptions? StoredOptions,
                                 IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Saving and loading network weights. Our checkpoints are safetensors files whose metadata holds the model
/// options (so they reload without flags) and are readable by PyTorch (<c>safetensors.torch.load_file</c> gives the
/// official state_dict). Official PyTorch <c>.pth</c> files load with the options given on the command line.
/// </summary>
public static class ModelCheckpoint
{
    /// <summary>What our checkpoints call themselves in their metadata (<c>format</c>).</summary>
    public const string FormatTag = "malunet-model/1";

    /// <summary>
    /// What a training checkpoint (<c>last.safetensors</c>: weights, optimizer moments, position) calls itself; it is
    /// written by the trainer, and weights are read out of it here.
    /// </summary>
    public const string TrainingFormatTag = "malunet-train/1";

    /// <summary>Metadata key of the network's input size (absent in older checkpoints: 256).</summary>
    public const string InputSizeKey = "input_size";

    /// <summary>The input size a weights file records, or the default.</summary>
    public static int InputSizeOf(WeightsFile file) =>
        file.Metadata.TryGetValue(InputSizeKey, out var v) && int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out int n) && n > 0
            ? n : SegmentationModel.DefaultInputSize;

    /// <summary>Writes the weights and options atomically (temporary file, then rename).</summary>
    public static void Save(string path, SegmentationModel model, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        var meta = new Dictionary<string, string>
        {
            ["format"] = FormatTag,
            ["model_options"] = model.Options.ToJson().ToJsonString(),
            [InputSizeKey] = model.InputSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (extraMetadata != null) foreach (var (k, v) in extraMetadata) meta[k] = v;
        var tensors = StateDict.Export(model);
        try { Safetensors.Write(path, tensors, meta); }
        finally { foreach (var (_, t) in tensors) t.Dispose(); }
    }

    /// <summary>Writes a PyTorch state_dict (<c>.pth</c>, read by <c>torch.load</c>) or a plain safetensors file.</summary>
    public static void ExportForPyTorch(string path, SegmentationModel model)
    {
        var tensors = StateDict.Export(model);
        try
        {
            if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) Safetensors.Write(path, tensors);
            else PyTorchPth.SaveStateDict(path, tensors);
        }
        finally { foreach (var (_, t) in tensors) t.Dispose(); }
    }

    /// <summary>Reads any supported weights file; throws <see cref="InvalidDataException"/> with the file name on bad input.</summary>
    public static WeightsFile Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such weights file");
        if (SafetensorsFile.LooksLike(path))
        {
            var (tensors, meta) = Safetensors.Read(path);
            if (meta.TryGetValue("format", out var f) && f == FormatTag && meta.TryGetValue("model_options", out var o))
                return new WeightsFile(path, WeightsKind.Malunet, tensors, ModelOptions.FromJson(JsonNode.Parse(o)!), meta);
            if (f == TrainingFormatTag && meta.TryGetValue("model_options", out var to))
            {
                // A training checkpoint (last.safetensors): the model tensors without the optimizer moments.
                foreach (var k in tensors.Keys.Where(k => k.StartsWith("optim.", StringComparison.Ordinal)).ToList())
                {
                    tensors[k].Dispose();
                    tensors.Remove(k);
                }
                return new WeightsFile(path, WeightsKind.Malunet, tensors, ModelOptions.FromJson(JsonNode.Parse(to)!), meta);
            }
            return new WeightsFile(path, WeightsKind.Safetensors, tensors, null, meta);
        }
        // Named .safetensors but not one: say so, rather than that it is not a PyTorch file.
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException($"{path}: not a safetensors file (no valid header: damaged, truncated or another format)");
        return new WeightsFile(path, WeightsKind.PyTorch, PyTorchPth.LoadStateDict(path), null, new Dictionary<string, string>());
    }

    /// <summary>
    /// Builds the network for a weights file and loads it: our checkpoints use their stored options, other files
    /// <paramref name="options"/> (the command-line model options, defaults if null).
    /// </summary>
    public static SegmentationModel Load(string path, ModelOptions? options = null) => Load(Read(path), options);

    /// <summary>As <see cref="Load(string, ModelOptions?)"/> for a file already read; its tensors are disposed.</summary>
    public static SegmentationModel Load(WeightsFile file, ModelOptions? options = null)
    {
        try
        {
            var model = ModelCatalog.Create(file.StoredOptions ?? options ?? new ModelOptions());
            StateDict.Load(model, file.Tensors, file.Path);
            model.InputSize = InputSizeOf(file);
            return model;
        }
        finally
        {
            foreach (var t in file.Tensors.Values) t.Dispose();
        }
    }
}

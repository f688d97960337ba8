using Malunet.Interop;
using Malunet.Models;
using Malunet.Native;
using static TorchSharp.torch;

namespace Malunet.Inference;

/// <summary>
/// The one place weights are opened for inference: a checkpoint of ours, an official PyTorch <c>.pth</c>, a
/// <c>train --folds</c> folder (the mean of its folds) or the bundled weights of an architecture, run by ONNX Runtime
/// on the network exported in memory (the default) or by libtorch. <see cref="Segmenter"/> finds this class when the
/// Malunet package is present; the verbs call it with their model flags.
/// </summary>
public sealed class TorchEngineProvider : IEngineProvider
{
    /// <inheritdoc/>
    public (IInferenceEngine Engine, string Description) Open(string? weights, SegmenterOptions options) => Open(weights, options, null);

    /// <summary>
    /// As <see cref="Open(string?, SegmenterOptions)"/>; <paramref name="flags"/> build the network of a file that
    /// does not store its options (an official <c>.pth</c>), else the defaults. A network without an ONNX form runs on
    /// libtorch whatever the engine asked (the description says so). ONNX Runtime runs the network exported at
    /// <paramref name="exportSize"/> (batches of another size than the weights were trained at), else at the trained size;
    /// a size the network cannot take is an <see cref="InputSizeException"/>.
    /// </summary>
    public static (IInferenceEngine Engine, string Description) Open(string? weights, SegmenterOptions options, ModelOptions? flags,
                                                                     (int Height, int Width)? exportSize = null)
    {
        var path = weights ?? BundledWeights.Find(options.Model, options.Dataset) ?? throw new FileNotFoundException(
            $"there are no bundled weights for {options.Model} trained on {BundledWeights.DatasetTitle(options.Dataset)} " +
            $"(weights/{BundledWeights.FileName(options.Model, options.Dataset)}; bundled: {string.Join(", ", BundledWeights.Models(dataset: options.Dataset))})");
        var what = weights == null ? $"{options.Model} ({BundledWeights.Describe(options.Model, options.Dataset)})" : Path.GetFileName(Path.TrimEndingDirectorySeparator(path));
        TorchRuntime.EnsureLoaded();
        if (Directory.Exists(path))
        {
            var folds = FoldCheckpoints(path) ?? throw new InvalidDataException(
                $"{path}: a folder, but not a cross-validation run (no fold_*/checkpoints/best.safetensors)");
            var members = new List<IInferenceEngine>();
            try
            {
                foreach (var fold in folds) members.Add(EngineFor(ModelCheckpoint.Load(fold, flags), fold, options, exportSize, out _));
                var ensemble = new EnsembleEngine(members);
                return (ensemble, $"{what}: {ensemble.Name} folds, their probabilities averaged");
            }
            catch { foreach (var m in members) m.Dispose(); throw; }
        }
        var engine = EngineFor(ModelCheckpoint.Load(path, flags), path, options, exportSize, out var runsOn);
        return (engine, $"{what} on {runsOn}");
    }

    /// <summary>
    /// As <see cref="Open(string?, SegmenterOptions, ModelOptions?, ValueTuple{int, int}?)"/> for a network already
    /// loaded (the engine then owns it) from the file named <paramref name="name"/>.
    /// </summary>
    public static (IInferenceEngine Engine, string Description) Open(SegmentationModel model, string name, SegmenterOptions options,
                                                                     (int Height, int Width)? exportSize = null)
    {
        var engine = EngineFor(model, name, options, exportSize, out var runsOn);
        return (engine, $"{name} on {runsOn}");
    }

    /// <summary>The folds' selected checkpoints (<c>fold_*/checkpoints/best.safetensors</c>) under a folder, or null.</summary>
    public static IReadOnlyList<string>? FoldCheckpoints(string folder)
    {
        if (!Directory.Exists(folder)) return null;
        var found = Directory.GetDirectories(folder, "fold_*")
            .Select(d => (Dir: d, Index: int.TryParse(Path.GetFileName(d)["fold_".Length..], out var i) ? i : -1))
            .Where(d => d.Index >= 0 && File.Exists(Path.Combine(d.Dir, "checkpoints", "best.safetensors")))
            .OrderBy(d => d.Index).Select(d => Path.Combine(d.Dir, "checkpoints", "best.safetensors")).ToList();
        return found.Count > 0 ? found : null;
    }

    private static IInferenceEngine EngineFor(SegmentationModel model, string path, SegmenterOptions options, (int Height, int Width)? exportSize, out string runsOn)
    {
        if (exportSize is var (h, w) && (h <= 0 || w <= 0 || h % model.SizeDivisor != 0 || w % model.SizeDivisor != 0))
        {
            model.Dispose();
            throw new InputSizeException($"input height and width must be positive multiples of {model.SizeDivisor}, got {h}x{w}");
        }
        if (options.Engine == SegmenterEngine.Onnx && model is IOnnxExportable)
        {
            runsOn = "ONNX Runtime";
            using (model) return new OnnxEngine(OnnxExporter.ToBytes(model, exportSize?.Height, exportSize?.Width), Path.GetFileName(path), options.Threads);
        }
        if (options.Threads is { } threads) set_num_threads(threads);
        var device = TorchRuntime.ResolveDevice(options.Device);
        runsOn = options.Engine == SegmenterEngine.Onnx ? $"libtorch ({device}; {model.Options.Model} has no ONNX form)" : $"libtorch ({device})";
        return new TorchEngine(model, device);
    }
}

/// <summary>The network cannot take inputs of the size asked for (its poolings need multiples of a power of two).</summary>
public sealed class InputSizeException(string message) : ArgumentException(message);

using System.Globalization;
using System.Text.Json.Nodes;
using Malunet.Interop;
using Malunet.Models;
using static TorchSharp.torch;

namespace Malunet.Training;

/// <summary>
/// Where a run stands: the next epoch and batch to run, the optimizer steps, and the best selection score so far.
/// Saved with the weights and AdamW moments in <c>checkpoints/last.safetensors</c> (a safetensors file: model tensors
/// under their state_dict names, moments under <c>optim.</c>), written atomically.
/// </summary>
public sealed record TrainingState(int Epoch, int Batch, long OptimizerSteps, double BestScore, int BestEpoch)
{
    /// <summary>What a training checkpoint calls itself.</summary>
    public const string FormatTag = ModelCheckpoint.TrainingFormatTag;

    /// <summary>Writes a training checkpoint: weights, optimiser moments and the position, whole or not at all.</summary>
    public static void Save(string path, SegmentationModel model, AdamW optimizer, TrainingState state, TrainingConfig config)
    {
        var tensors = StateDict.Export(model).Select(t => (t.Name, t.Value)).ToList();
        tensors.AddRange(optimizer.State().Select(s => ("optim." + s.Name, s.Value.detach().cpu())));
        var meta = new Dictionary<string, string>
        {
            ["format"] = FormatTag,
            ["model_options"] = model.Options.ToJson().ToJsonString(),
            [ModelCheckpoint.InputSizeKey] = model.InputSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["training_config"] = config.ToJson().ToJsonString(),
            ["epoch"] = state.Epoch.ToString(CultureInfo.InvariantCulture),
            ["batch"] = state.Batch.ToString(CultureInfo.InvariantCulture),
            ["optimizer_steps"] = state.OptimizerSteps.ToString(CultureInfo.InvariantCulture),
            ["best_score"] = state.BestScore.ToString("R", CultureInfo.InvariantCulture),
            ["best_epoch"] = state.BestEpoch.ToString(CultureInfo.InvariantCulture),
        };
        Safetensors.Write(path, tensors, meta);
    }

    /// <summary>Reads a training checkpoint into <paramref name="model"/> and <paramref name="optimizer"/>.</summary>
    public static TrainingState Load(string path, SegmentationModel model, AdamW optimizer)
    {
        var (tensors, meta) = Safetensors.Read(path);
        try
        {
            if (!meta.TryGetValue("format", out var f) || f != FormatTag)
                throw new InvalidDataException($"{path}: not a malunet training checkpoint");
            StateDict.Load(model, tensors.Where(kv => !kv.Key.StartsWith("optim.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value), path);
            long steps = long.Parse(meta["optimizer_steps"], CultureInfo.InvariantCulture);
            optimizer.LoadState(tensors.Where(kv => kv.Key.StartsWith("optim.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["optim.".Length..], kv => kv.Value), steps);
            return new TrainingState(
                int.Parse(meta["epoch"], CultureInfo.InvariantCulture), int.Parse(meta["batch"], CultureInfo.InvariantCulture), steps,
                double.Parse(meta["best_score"], CultureInfo.InvariantCulture), int.Parse(meta["best_epoch"], CultureInfo.InvariantCulture));
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>The model options stored in a training checkpoint.</summary>
    public static ModelOptions ReadOptions(string path)
    {
        var (tensors, meta) = Safetensors.Read(path);
        foreach (var t in tensors.Values) t.Dispose();
        return ModelOptions.FromJson(JsonNode.Parse(meta["model_options"])!);
    }
}

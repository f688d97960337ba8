using Malunet.Data;
using Malunet.Models;

namespace Malunet.Evaluation;

/// <summary>
/// The images a network's weights have seen in training (fitted on, or used to choose the epoch), where that is
/// known: for the bundled weights of a data set, the training part of that data set's paper split, bundled beside them
/// as <c>weights/&lt;dataset&gt;.split.json</c>; for a checkpoint of a run folder (<c>RUN/checkpoints/*.safetensors</c>)
/// the run's <c>split.json</c>; for a <c>train --folds</c> folder, its folds' splits together. Scores on these images
/// are optimistic, which matters most across data sets: ISIC 2017 and ISIC 2018 share 1921 image ids.
/// </summary>
public sealed class TrainingImages
{
    private readonly HashSet<string> ids;

    private TrainingImages(IEnumerable<string> ids, string source)
    {
        this.ids = new HashSet<string>(ids, StringComparer.Ordinal);
        Source = source;
    }

    /// <summary>Where the ids come from (a split file), for messages.</summary>
    public string Source { get; }

    /// <summary>How many ids.</summary>
    public int Count => ids.Count;

    /// <summary>Whether the weights have seen the image <paramref name="id"/> in training.</summary>
    public bool Contains(string id) => ids.Contains(id);

    /// <summary>The split file of the bundled weights trained on <paramref name="dataset"/>, or null if not installed.</summary>
    public static string? BundledSplit(string dataset) => BundledWeights.Locate($"{dataset}.split.json");

    /// <summary>
    /// The training images of <paramref name="weights"/> (a file or folds folder), or of the bundled weights trained on
    /// <paramref name="dataset"/> when it is null; null when they are not known (weights from elsewhere).
    /// </summary>
    public static TrainingImages? Of(string? weights, string dataset = BundledWeights.DefaultDataset)
    {
        if (string.IsNullOrEmpty(weights)) return Bundled(dataset);
        var full = Path.GetFullPath(Path.TrimEndingDirectorySeparator(weights));
        if (BundledWeights.DatasetOf(full) is { } bundledDataset) return Bundled(bundledDataset);
        if (Directory.Exists(full))
        {
            var folds = Directory.GetDirectories(full, "fold_*").Select(f => Path.Combine(f, "split.json")).Where(File.Exists).Order(StringComparer.Ordinal).ToList();
            return folds.Count > 0 ? FromSplits(folds) : null;
        }
        var folder = Path.GetDirectoryName(full);
        if (folder != null && Path.GetFileName(folder) == "checkpoints" && Path.Combine(Path.GetDirectoryName(folder)!, "split.json") is var run && File.Exists(run))
            return FromSplits([run]);
        return null;
    }

    private static TrainingImages? Bundled(string dataset) => BundledSplit(dataset) is { } split
        ? FromSplits([split], $"the training part of the {BundledWeights.DatasetTitle(dataset)} paper split, {split}") : null;

    /// <summary>The train and val ids of <paramref name="splits"/> together.</summary>
    private static TrainingImages FromSplits(IReadOnlyList<string> splits, string? source = null) =>
        new(splits.SelectMany(p => DataSplit.Load(p) is var s ? s.Train.Concat(s.Val) : []),
            source ?? (splits.Count == 1 ? splits[0] : $"the {splits.Count} folds' split.json in {Path.GetDirectoryName(Path.GetDirectoryName(splits[0]))}"));
}

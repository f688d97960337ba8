using System.Globalization;
using System.Text;
using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Interop;

namespace Malunet.Inference;

/// <summary>What <see cref="FolderPrediction"/> writes for each image besides its mask.</summary>
internal sealed record PredictionOutputs(bool Overlay = true, string OverlayFormat = "jpg", bool Probabilities = false);

/// <summary>
/// How a run over a folder ended: images written now, found finished, and failed (named in <c>Failures</c>); and the
/// time each stage took, summed over the threads that ran it (decode, network, resize back, encode).
/// </summary>
internal sealed record FolderPredictionResult(int Written, int Skipped, IReadOnlyList<DataProblem> Failures, bool SummaryWritten,
                                            IReadOnlyDictionary<string, TimeSpan> StageTimes);

/// <summary>
/// Segments a list of image files into one output folder, as one run or as one shard of many (machines sharing the
/// folder): for each image, at its original size, <c>&lt;id&gt;_mask.png</c> (lossless), <c>&lt;id&gt;_overlay.jpg</c>
/// (or .png) and optionally <c>&lt;id&gt;_prob.png</c>; then <c>summary.csv</c> with the lesion areas, in file order.
/// A multi-class network's mask holds class indices, its overlay colours each class and has a legend, its probability
/// map is the foreground's (1 - p of class 0), and summary.csv adds one pixel count per class.
/// Every file is written under a temporary name and renamed, and each image's summary row is kept in
/// <c>.malunet/rows/</c> as the mark that the image is finished: a rerun skips the batches whose images are all
/// finished, so a killed or pre-empted shard redoes only the batches with something missing, and whichever shard sees
/// every image finished writes summary.csv, the same as one plain run's.
/// </summary>
internal static class FolderPrediction
{
    /// <summary>summary.csv's header for one class.</summary>
    public const string SummaryHeader = "file,id,width,height,lesion_pixels,lesion_fraction";

    /// <summary>summary.csv's header: with K &gt;= 2 classes, lesion means any class but 0, then <c>class_1_pixels</c>..</summary>
    public static string SummaryHeaderFor(int classes) =>
        SummaryHeader + string.Concat(Enumerable.Range(1, Math.Max(0, classes - 1)).Select(c => $",class_{c}_pixels"));
    private const string StateFolder = ".malunet";

    /// <summary>
    /// Output ids for the whole sorted file list: the file's stem, or its name with dots as underscores when two
    /// files share a stem. Computed over all files, so every shard names every image alike.
    /// </summary>
    public static IReadOnlyList<string> OutputIds(IReadOnlyList<string> files)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        return files.Select(f =>
        {
            var id = Path.GetFileNameWithoutExtension(f);
            return used.Add(id) ? id : Path.GetFileName(f).Replace('.', '_');
        }).ToList();
    }

    private static string RowPath(string outDir, string id) => Path.Combine(outDir, StateFolder, "rows", id + ".csv");
    private static string FailedPath(string outDir, string id) => Path.Combine(outDir, StateFolder, "rows", id + ".failed");

    private static IEnumerable<string> OutputFiles(string outDir, string id, PredictionOutputs o)
    {
        yield return Path.Combine(outDir, id + "_mask.png");
        if (o.Overlay) yield return Path.Combine(outDir, $"{id}_overlay.{o.OverlayFormat}");
        if (o.Probabilities) yield return Path.Combine(outDir, id + "_prob.png");
    }

    private static bool Finished(string outDir, string id, PredictionOutputs o) =>
        File.Exists(RowPath(outDir, id)) && OutputFiles(outDir, id, o).All(File.Exists);

    /// <summary>
    /// Runs this <paramref name="shard"/> of <paramref name="files"/> (sorted, the whole list for every shard).
    /// With <paramref name="overwrite"/>, finished images are done again.
    /// </summary>
    public static FolderPredictionResult Run(Segmenter segmenter, IReadOnlyList<string> files, string outDir, PredictionOutputs outputs,
                                             Shard shard, int batchSize, bool overwrite, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        if (outputs.OverlayFormat is not ("jpg" or "png")) throw new ArgumentException($"overlay format must be jpg or png, not '{outputs.OverlayFormat}'");
        Directory.CreateDirectory(Path.Combine(outDir, StateFolder, "rows"));
        var ids = OutputIds(files);
        var mine = shard.Select(Enumerable.Range(0, files.Count).ToList(), batchSize);
        // A rerun redoes every batch with a missing output, whole: each image then runs in the same batch as in one
        // plain run, so what is written again equals it byte for byte.
        var todo = mine.Chunk(batchSize).Where(block => overwrite || block.Any(i => !Finished(outDir, ids[i], outputs))).SelectMany(b => b).ToList();
        var failures = new List<DataProblem>();
        int written = 0;
        var stages = new StageClock("decode", "network", "resize back", "encode");
        int classes = segmenter.Classes;

        void Finish(int i, CachedSample s, float[] prob)
        {
            var clock = StageClock.Start();
            var result = segmenter.Finish(s, prob, files[i], null);
            stages.Add("resize back", ref clock);
            result.SaveMask(Path.Combine(outDir, ids[i] + "_mask.png"));
            if (outputs.Probabilities) result.SaveProbability(Path.Combine(outDir, ids[i] + "_prob.png"));
            if (outputs.Overlay) result.SaveOverlay(Path.Combine(outDir, $"{ids[i]}_overlay.{outputs.OverlayFormat}"));
            // The row is written last: it marks the image finished.
            AtomicFile.WriteAllText(RowPath(outDir, ids[i]), string.Create(CultureInfo.InvariantCulture,
                $"{CsvText.Quote(files[i])},{CsvText.Quote(ids[i])},{result.Width},{result.Height},{result.AreaPixels},{result.AreaFraction:G6}{(classes == 1 ? "" : string.Concat(result.ClassPixels.Skip(1).Select(n => $",{n}")))}\n"));
            File.Delete(FailedPath(outDir, ids[i]));
            stages.Add("encode", ref clock);
            Interlocked.Increment(ref written);
        }

        CachedSample Load(int i) { var c = StageClock.Start(); var s = segmenter.Load(files[i]); stages.Add("decode", ref c); return s; }
        IReadOnlyList<float[]> Predict(IReadOnlyList<(int, CachedSample Sample)> batch)
        {
            var c = StageClock.Start();
            var probs = segmenter.Predict(batch.Select(b => b.Sample).ToList());
            stages.Add("network", ref c);
            return probs;
        }

        ImagePipeline.Run(todo, batchSize, Load, Predict, Finish,
            (i, e) =>
            {
                var problem = DataProblem.FromMessage(files[i], e.Message);
                failures.Add(problem);
                AtomicFile.WriteAllText(FailedPath(outDir, ids[i]), problem + "\n");
            },
            d => progress?.Invoke(d, todo.Count), cancel: cancel);
        bool summary = TryWriteSummary(files, ids, outDir, classes);
        return new FolderPredictionResult(written, mine.Count - todo.Count, failures.OrderBy(f => f.Path, StringComparer.Ordinal).ToList(), summary, stages.Totals);
    }

    /// <summary>Writes summary.csv once every image of the list is finished or failed (rows in file order); false before.</summary>
    private static bool TryWriteSummary(IReadOnlyList<string> files, IReadOnlyList<string> ids, string outDir, int classes)
    {
        var csv = new StringBuilder(SummaryHeaderFor(classes) + "\n");
        for (int i = 0; i < files.Count; i++)
        {
            var row = RowPath(outDir, ids[i]);
            if (File.Exists(row)) csv.Append(File.ReadAllText(row));
            else if (!File.Exists(FailedPath(outDir, ids[i]))) return false;
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, "summary.csv"), csv.ToString());
        return true;
    }
}

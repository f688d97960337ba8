using System.CommandLine;
using System.Text.Json;
using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Inference;
using Malunet.Training;

namespace Malunet.Cli.Commands;

/// <summary>
/// <c>malunet evaluate</c>: the paper's pooled metrics exactly as the official code computes them, plus per-image
/// Dice, IoU and HD95 at 256x256 and at each mask's original resolution. Streams (memory does not grow with the
/// number of images), runs one shard of an archive (<c>--shard I/N</c>) and merges shards (<c>--merge</c>).
/// </summary>
public static class EvaluateCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var device = new DeviceArguments();
        var weights = new Option<string?>("--weights") { Description = "Weights: ours, an official .pth (then with the model options), or a train --folds folder (its folds' ensemble)" + ModelArguments.BundledDefault };
        var data = new Option<string?>("--data") { Description = "Dataset folder, at or above the folder of a known layout (as for train)" };
        var split = new Option<string?>("--split") { Description = "JSON split file; with it --subset names its part" };
        var subset = new Option<string?>("--subset") { Description = "test, val, train or all: the split's part, or without --split the folder's own (default: test where there is one, else the whole folder)" };
        var maskSuffix = new Option<string?>("--mask-suffix") { Description = "Pair image X with mask X<SUFFIX> only (default: _segmentation, _Segmentation, _lesion, _mask, _gt or the same name)" };
        var json = new Option<bool>("--json") { Description = "Print the paper's metrics as JSON" };
        var output = new Option<string?>("--out") { Description = "Write per_image.csv and summary.json here" };
        var threshold = ThresholdOption.Create("Probability threshold");
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 8 };
        var noOriginal = new Option<bool>("--no-original-resolution") { Description = "Skip the per-image metrics at the masks' original size" };
        var shard = new Option<string?>("--shard") { Description = "Evaluate only shard I of N (I/N, e.g. $JOB_COMPLETION_INDEX/4) of the sorted image ids, in blocks of --batch-size (give every shard the same); merge the shards' --out folders with --merge" };
        var merge = new Option<string[]>("--merge") { Description = "Combine the --out folders of evaluate --shard runs into the result of one run", AllowMultipleArgumentsPerToken = true };
        var cmd = new Command("evaluate", "Paper metrics (pooled mIoU, DSC, Acc, Sen, Spe) and per-image Dice, IoU, HD95");
        var maxPixels = PixelLimitOption.Create();
        var engineOpt = EngineOption.Create();
        foreach (var o in new Option[] { weights, data, split, subset, maskSuffix, json, output, threshold, batch, noOriginal, shard, merge, maxPixels, engineOpt }) cmd.Options.Add(o);
        model.AddTo(cmd);
        device.AddTo(cmd);
        cmd.SetAction((r, cancel) =>
        {
            if (r.GetValue(merge) is { Length: > 0 } shards)
            {
                if (r.GetValue(data) != null) throw new UsageException("--merge combines finished shards; give either --merge or --data");
                if (shards.Any(ClassEvaluationRecord.IsIn))
                    Report(ClassEvaluationRecord.Merge(shards.Select(ClassEvaluationRecord.Read).ToList()), r.GetValue(json), r.GetValue(output));
                else Report(EvaluationRecord.Merge(shards.Select(EvaluationRecord.Read).ToList()), r.GetValue(json), r.GetValue(output));
                return Task.FromResult(0);
            }
            var dataDir = r.GetValue(data) ?? throw new UsageException("--data is required (or --merge with shard folders)");
            double th = r.GetValue(threshold);
            if (r.GetValue(batch) < 1) throw new UsageException($"--batch-size must be at least 1, got {r.GetValue(batch)}");
            var part = r.GetValue(subset);
            if (part is not (null or "test" or "val" or "train" or "all")) throw new UsageException($"--subset must be test, val, train or all, not '{part}'");
            Shard sh;
            try { sh = r.GetValue(shard) is { } s ? Shard.Parse(s) : Shard.Whole; }
            catch (ArgumentException e) { throw new UsageException(e); }
            model.Bind(r);
            PixelLimitOption.Apply(r, maxPixels);
            var engineKind = device.Engine(r, engineOpt);
            // The metrics run on libtorch tensors, with one thread: the decoding and scoring workers take the other
            // cores. ONNX Runtime gets every core unless --threads says otherwise.
            device.ResolveForImages(r);
            var options = new SegmenterOptions { Threshold = th, Engine = engineKind, Device = r.GetValue(device.Device)!, BatchSize = r.GetValue(batch),
                                                 Threads = device.CheckedThreads(r) ?? (engineKind == SegmenterEngine.Torch ? 1 : null) };
            using var segmenter = model.OpenSegmenter(r, r.GetValue(weights), options);
            var engine = segmenter.Engine;
            var scan = DatasetScanner.Scan(dataDir, r.GetValue(maskSuffix));
            var (samples, what) = Select(scan, r.GetValue(split), part);
            samples = sh.Select(samples.OrderBy(x => x.Id, StringComparer.Ordinal).ToList(), r.GetValue(batch));
            if (sh.Count > 1) Console.Error.WriteLine($"shard {sh}: {samples.Count} image(s) of {what}");
            WarnSeenInTraining(TrainingImages.Of(r.GetValue(weights), r.GetValue(model.TrainedOn)!), samples);

            bool original = !r.GetValue(noOriginal);
            return Task.FromResult(engine.Classes > 1
                ? EvaluateClasses(engine, samples, r.GetValue(batch), original, r.GetValue(json), r.GetValue(output), cancel)
                : EvaluateBinary(engine, samples, r.GetValue(batch), th, original, r.GetValue(json), r.GetValue(output), cancel));
        });
        return cmd;
    }

    /// <summary>
    /// Says when the weights have seen some of the images in training (their scores are then optimistic): the bundled
    /// ISIC 2017 weights on ISIC 2018 images, say, or a run's checkpoint on its own training part.
    /// </summary>
    private static void WarnSeenInTraining(TrainingImages? seen, IReadOnlyList<Sample> samples)
    {
        int n = seen == null ? 0 : samples.Count(s => seen.Contains(s.Id));
        if (n > 0)
            Console.Error.WriteLine($"malunet: warning: {n} of the {samples.Count} images are in the training data of these weights ({seen!.Source}): " +
                                    "their scores are optimistic; a --split whose test part leaves them out scores only unseen images");
    }

    /// <summary>The paper's metrics and the per-image scores, streamed (<see cref="DatasetEvaluation"/>).</summary>
    private static int EvaluateBinary(IInferenceEngine engine, IReadOnlyList<Sample> samples, int batch, double threshold, bool original,
                                      bool json, string? outDir, CancellationToken cancel)
    {
        var lossFn = new BceDiceLoss();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (record, problems) = ProgressReporter.Run(rep => DatasetEvaluation.Run(engine, samples, engine.InputSize, batch, threshold, original,
            (y, t) => lossFn.Compute(y, t).item<float>(), (d, n) => rep.Phase(original ? "evaluating (and at original resolution)" : "evaluating", d, n), cancel));
        Evaluated(record.Rows.Count, problems, clock);
        Report(record, json, outDir);
        return ExitCode(problems);
    }

    /// <summary>Names every problem and says how many images were scored and how long it took.</summary>
    private static void Evaluated(int images, IReadOnlyList<DataProblem> problems, System.Diagnostics.Stopwatch clock)
    {
        foreach (var p in DataProblem.Condense(problems)) Console.Error.WriteLine($"malunet: {p.Label}: {p}");
        Console.Error.WriteLine($"evaluated {images} image(s) in {clock.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>1 when images could not be read (they are not in the metrics), else 0.</summary>
    private static int ExitCode(IReadOnlyList<DataProblem> problems)
    {
        int failed = problems.Count(p => p.Fatal);
        if (failed > 0) Console.Error.WriteLine($"malunet: {failed} image(s) could not be read (listed above) and are not in the metrics");
        return failed > 0 ? 1 : 0;
    }

    /// <summary>A multi-class network: per-class metrics of class-index masks (<see cref="ClassDatasetEvaluation"/>).</summary>
    private static int EvaluateClasses(IInferenceEngine engine, IReadOnlyList<Sample> samples, int batch, bool original,
                                       bool json, string? outDir, CancellationToken cancel)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (record, problems) = ProgressReporter.Run(rep => ClassDatasetEvaluation.Run(engine, samples, engine.InputSize, batch, original,
            (d, n) => rep.Phase(original ? "evaluating (and at original resolution)" : "evaluating", d, n), cancel));
        Evaluated(record.Rows.Count, problems, clock);
        Report(record, json, outDir);
        return ExitCode(problems);
    }

    /// <summary>The images with masks to evaluate, and how to name them in messages.</summary>
    private static (IReadOnlyList<Sample> Samples, string What) Select(DatasetScan scan, string? splitFile, string? part)
    {
        if (splitFile != null)
        {
            part ??= "test";
            var s = DataSplit.Load(splitFile);
            var ids = part switch { "test" => s.Test, "val" => s.Val, "train" => s.Train, _ => s.Train.Concat(s.Val).Concat(s.Test).ToList() };
            var (found, missing) = scan.Pick(ids);
            if (missing.Count > 0) throw new InvalidDataException($"{splitFile}: {missing.Count} id(s) of the {part} part have no image with a mask, e.g. {missing[0]}");
            return (found[0], $"the '{part}' part of {splitFile}");
        }
        foreach (var p in scan.Problems) Console.Error.WriteLine($"malunet: warning: {p}");
        // A layout with its own parts is evaluated on its test part by default; a folder without parts, whole.
        part ??= scan.HasParts && scan.Samples.Any(x => x.Subset == "test") ? "test" : "all";
        var what = part == "all" || !scan.HasParts ? $"{scan.Root} ({scan.Layout} layout)" : $"the '{part}' part of {scan.Root} ({scan.Layout} layout)";
        var samples = scan.Samples.Where(x => x.MaskPath != null && (part == "all" || x.Subset == part || x.Subset == DatasetScanner.WholeFolder)).ToList();
        if (samples.Count == 0) throw new InvalidDataException($"no images with masks in {what}");
        return (samples, what);
    }

    /// <summary>A multi-class record on the console (or as JSON) and, with <paramref name="outDir"/>, its files.</summary>
    private static void Report(ClassEvaluationRecord record, bool json, string? outDir)
    {
        if (json) Console.WriteLine(record.SummaryJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        else
        {
            Console.WriteLine($"images       {record.AtNetworkSize.Images}, {record.Classes} classes (class 0 is the background; means are over classes 1..{record.Classes - 1})");
            Console.WriteLine($"pooled       {record.AtNetworkSize}   (at the network input size, argmax)");
            if (record.Original != null) Console.WriteLine($"original res {record.Original}");
            for (int c = 1; c < record.Classes; c++)
            {
                var d = EvaluationRecord.Stats(record.Rows.Select(x => x.Dice[c - 1]));
                var i = EvaluationRecord.Stats(record.Rows.Select(x => x.IoU[c - 1]));
                Console.WriteLine($"class {c,-6} per image Dice {d.Mean:F4} ± {d.Std:F4}   IoU {i.Mean:F4} ± {i.Std:F4} (n={d.N})");
            }
        }
        if (outDir == null) return;
        record.Write(outDir);
        if (!json) Console.WriteLine($"wrote {Path.Combine(outDir, EvaluationRecord.RowsFile)} and {EvaluationRecord.SummaryFile}");
    }

    /// <summary>A binary record on the console (or the paper's metrics as JSON) and, with <paramref name="outDir"/>, its files.</summary>
    private static void Report(EvaluationRecord record, bool json, string? outDir)
    {
        if (json) Console.WriteLine(record.Metrics.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        else
        {
            bool original = record.OriginalResolution;
            Console.WriteLine($"images       {record.Metrics.Images}");
            Console.WriteLine($"paper        {record.Metrics}   (pooled over all pixels at the network input size, threshold {record.Metrics.Threshold})");
            void Line(string label, Func<ImageScores, MaskScores?> pick)
            {
                var d = EvaluationRecord.Stats(record.Rows.Select(x => pick(x)?.Dice ?? double.NaN));
                var i = EvaluationRecord.Stats(record.Rows.Select(x => pick(x)?.IoU ?? double.NaN));
                var h = EvaluationRecord.Stats(record.Rows.Select(x => pick(x)?.Hd95 ?? double.NaN));
                Console.WriteLine($"{label,-12} Dice {d.Mean:F4} ± {d.Std:F4}   IoU {i.Mean:F4} ± {i.Std:F4}   HD95 {h.Mean:F2} ± {h.Std:F2} px (n={h.N})");
            }
            Line("per image", x => x.At256);
            if (original) Line("original res", x => x.Original);
            Console.WriteLine("worst 10 (Dice" + (original ? " at original resolution" : "") + "):");
            foreach (var w in record.Worst())
                Console.WriteLine($"  {w.Id}  Dice {(w.Original ?? w.At256).Dice:F4}  IoU {(w.Original ?? w.At256).IoU:F4}");
        }
        if (outDir == null) return;
        record.Write(outDir);
        if (!json) Console.WriteLine($"wrote {Path.Combine(outDir, EvaluationRecord.RowsFile)} and {EvaluationRecord.SummaryFile}");
    }
}

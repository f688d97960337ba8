using System.Collections.Concurrent;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Inference;
using Malunet.Interop;

namespace Malunet.Cli.Commands;

/// <summary>
/// <c>malunet evaluate</c>: the paper's pooled metrics exactly as the official code computes them, plus per-image
/// Dice, IoU and HD95 at 256x256 and at each mask's original resolution.
/// </summary>
public static class EvaluateCommand
{
    private sealed record Row(string Id, MaskScores At256, MaskScores? Original, int Width, int Height);

    public static Command Create()
    {
        var model = new ModelArguments();
        var device = new DeviceArguments();
        var weights = new Option<string?>("--weights") { Description = "Weights: ours or an official .pth, then with the model options (default: the bundled ISIC 2017 weights)" };
        var data = new Option<string>("--data") { Description = "Dataset folder (as for train)", Required = true };
        var split = new Option<string?>("--split") { Description = "JSON split file; with it --subset names its part" };
        var subset = new Option<string>("--subset") { Description = "test (default), val, train or all: the split's part, or without --split the folder's own", DefaultValueFactory = _ => "test" };
        var json = new Option<bool>("--json") { Description = "Print the paper's metrics as JSON" };
        var output = new Option<string?>("--out") { Description = "Write per_image.csv and summary.json here" };
        var threshold = new Option<double>("--threshold") { Description = "Probability threshold", DefaultValueFactory = _ => 0.5 };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 8 };
        var noOriginal = new Option<bool>("--no-original-resolution") { Description = "Skip the per-image metrics at the masks' original size" };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Decoded-image cache (default ~/.cache/malunet)" };
        var cmd = new Command("evaluate", "Paper metrics (pooled mIoU, DSC, Acc, Sen, Spe) and per-image Dice, IoU, HD95");
        foreach (var o in new Option[] { weights, data, split, subset, json, output, threshold, batch, noOriginal, cacheDir }) cmd.Options.Add(o);
        model.AddTo(cmd);
        device.AddTo(cmd);
        cmd.SetAction(r =>
        {
            double th = r.GetValue(threshold);
            if (th <= 0 || th >= 1) throw new UsageException($"--threshold must be in (0, 1), got {th}");
            if (r.GetValue(batch) < 1) throw new UsageException($"--batch-size must be at least 1, got {r.GetValue(batch)}");
            var part = r.GetValue(subset)!;
            if (part is not ("test" or "val" or "train" or "all")) throw new UsageException($"--subset must be test, val, train or all, not '{part}'");
            model.Bind(r);
            var dev = device.Resolve(r);
            var net = model.Load(r, ModelArguments.WeightsOrBundled(r.GetValue(weights)));
            var scan = DatasetScanner.Scan(r.GetValue(data)!);
            IReadOnlyList<Sample> samples;
            if (r.GetValue(split) is { } sp)
            {
                var s = DataSplit.Load(sp);
                var ids = part switch { "test" => s.Test, "val" => s.Val, "train" => s.Train, _ => s.Train.Concat(s.Val).Concat(s.Test).ToList() };
                var byId = scan.Samples.Where(x => x.MaskPath != null).GroupBy(x => x.Id).ToDictionary(g => g.Key, g => g.First());
                var missing = ids.Where(id => !byId.ContainsKey(id)).ToList();
                if (missing.Count > 0) throw new InvalidDataException($"{sp}: {missing.Count} id(s) of the {part} part have no image with a mask, e.g. {missing[0]}");
                samples = ids.Select(id => byId[id]).ToList();
            }
            else
            {
                foreach (var p in scan.Problems) Console.Error.WriteLine($"malunet: warning: {p}");
                samples = scan.Samples.Where(x => x.MaskPath != null && (part == "all" || x.Subset == part || x.Subset == "all")).ToList();
            }
            if (samples.Count == 0) throw new InvalidDataException($"{scan.Root}: no images with masks in the '{part}' part");

            var cached = ProgressReporter.Run(rep =>
            {
                var c = ImageCache.Load(samples, 256, r.GetValue(cacheDir) ?? ImageCache.DefaultFolder(), out var problems, (d, n) => rep.Phase("decoding", d, n));
                foreach (var p in problems.Where(p => !p.Fatal)) rep.Warn(p.ToString());
                var fatal = problems.Where(p => p.Fatal).ToList();
                if (fatal.Count > 0) throw new InvalidDataException($"{fatal.Count} unreadable file(s), first: {fatal[0]}");
                return c;
            });
            var byIdPath = samples.ToDictionary(s => s.Id);
            bool original = !r.GetValue(noOriginal);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var maps = new List<(CachedSample Sample, float[] Prob)>();
            var result = ProgressReporter.Run(rep => Evaluator.Run(net, cached, dev, r.GetValue(batch), th, null, (d, n) => rep.Phase("evaluating", d, n),
                (sample, prob) => maps.Add((sample, prob))));
            Console.Error.WriteLine($"inference and pooled metrics: {clock.Elapsed.TotalSeconds:F1} s");
            clock.Restart();
            // Per-image metrics, two images at a time: a full-resolution mask can be 30 megapixels.
            var rows = new ConcurrentBag<Row>();
            int done = 0;
            ProgressReporter.Run(rep =>
            {
                Parallel.ForEach(maps, new ParallelOptions { MaxDegreeOfParallelism = 2 }, m =>
                {
                    rows.Add(PerImage(m.Sample, m.Prob, th, original ? byIdPath[m.Sample.Id].MaskPath : null));
                    int k = Interlocked.Increment(ref done);
                    lock (rows) rep.Phase(original ? "per-image metrics (original resolution)" : "per-image metrics", k, maps.Count);
                });
                return 0;
            });
            Console.Error.WriteLine($"per-image metrics{(original ? " at 256x256 and original resolution" : "")}: {clock.Elapsed.TotalSeconds:F1} s");
            var list = rows.OrderBy(x => x.Id, StringComparer.Ordinal).ToList();
            Report(result, list, r.GetValue(json), r.GetValue(output), original);
            return 0;
        });
        return cmd;
    }

    private static Row PerImage(CachedSample s, float[] prob, double th, string? originalMask)
    {
        int n = s.Size;
        var gt = new bool[n * n];
        for (int i = 0; i < gt.Length; i++) gt[i] = s.Mask![i] >= 128; // gt >= 0.5 after resizing, as the paper's metrics
        var at256 = MaskMetrics.Compute(MaskOutputs.Threshold(prob, th), gt, n, n);
        if (originalMask == null) return new Row(s.Id, at256, null, s.MaskWidth, s.MaskHeight);
        var full = ImageDecoder.DecodeMaskFull(originalMask);
        return new Row(s.Id, at256, OriginalResolution.Score(prob, n, full, th), full.Width, full.Height);
    }

    private static (double Mean, double Std, int N) Stats(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).ToList();
        if (v.Count == 0) return (double.NaN, double.NaN, 0);
        double m = v.Average();
        return (m, Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / v.Count), v.Count);
    }

    private static JsonObject StatsJson(IEnumerable<double> values)
    {
        var (m, s, n) = Stats(values);
        return new JsonObject { ["mean"] = double.IsNaN(m) ? null : m, ["std"] = double.IsNaN(s) ? null : s, ["n"] = n };
    }

    private static void Report(EvaluationResult result, List<Row> rows, bool json, string? outDir, bool original)
    {
        var paper = result.Metrics.ToJson();
        if (json) Console.WriteLine(paper.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        else
        {
            Console.WriteLine($"images       {result.Images}");
            Console.WriteLine($"paper        {result.Metrics}   (pooled over all pixels at 256x256, threshold {result.Metrics.Threshold})");
            void Line(string label, Func<Row, MaskScores?> pick)
            {
                var d = Stats(rows.Select(x => pick(x)?.Dice ?? double.NaN));
                var i = Stats(rows.Select(x => pick(x)?.IoU ?? double.NaN));
                var h = Stats(rows.Select(x => pick(x)?.Hd95 ?? double.NaN));
                Console.WriteLine($"{label,-12} Dice {d.Mean:F4} ± {d.Std:F4}   IoU {i.Mean:F4} ± {i.Std:F4}   HD95 {h.Mean:F2} ± {h.Std:F2} px (n={h.N})");
            }
            Line("per image", x => x.At256);
            if (original) Line("original res", x => x.Original);
            Console.WriteLine("worst 10 (Dice" + (original ? " at original resolution" : "") + "):");
            foreach (var w in rows.OrderBy(x => (original ? x.Original! : x.At256).Dice).Take(10))
                Console.WriteLine($"  {w.Id}  Dice {(original ? w.Original! : w.At256).Dice:F4}  IoU {(original ? w.Original! : w.At256).IoU:F4}");
        }
        if (outDir == null) return;
        Directory.CreateDirectory(outDir);
        var csv = new StringBuilder("id,width,height,dice_256,iou_256,hd95_256,dice_original,iou_original,hd95_original\n");
        string F(double v) => double.IsNaN(v) ? "" : v.ToString("G6", CultureInfo.InvariantCulture);
        foreach (var x in rows)
            csv.Append($"{x.Id},{x.Width},{x.Height},{F(x.At256.Dice)},{F(x.At256.IoU)},{F(x.At256.Hd95)},{F(x.Original?.Dice ?? double.NaN)},{F(x.Original?.IoU ?? double.NaN)},{F(x.Original?.Hd95 ?? double.NaN)}\n");
        AtomicFile.WriteAllText(Path.Combine(outDir, "per_image.csv"), csv.ToString());
        var summary = new JsonObject
        {
            ["paper_metrics"] = paper,
            ["loss"] = result.MeanLoss,
            ["per_image_256"] = new JsonObject { ["dice"] = StatsJson(rows.Select(x => x.At256.Dice)), ["iou"] = StatsJson(rows.Select(x => x.At256.IoU)), ["hd95"] = StatsJson(rows.Select(x => x.At256.Hd95)) },
            ["worst"] = new JsonArray(rows.OrderBy(x => (x.Original ?? x.At256).Dice).Take(10).Select(x => (JsonNode)new JsonObject { ["id"] = x.Id, ["dice"] = (x.Original ?? x.At256).Dice }).ToArray()),
        };
        if (original)
            summary["per_image_original"] = new JsonObject { ["dice"] = StatsJson(rows.Select(x => x.Original!.Dice)), ["iou"] = StatsJson(rows.Select(x => x.Original!.IoU)), ["hd95"] = StatsJson(rows.Select(x => x.Original!.Hd95)) };
        AtomicFile.WriteAllText(Path.Combine(outDir, "summary.json"), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        if (!json) Console.WriteLine($"wrote {Path.Combine(outDir, "per_image.csv")} and summary.json");
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Inference;
using Malunet.Interop;
using Malunet.Models;
using static TorchSharp.torch;

namespace Malunet.Training;

/// <summary>
/// K-fold cross-validation, as nnU-Net made it standard: the training ids of a split dealt into K folds
/// (<see cref="DataSplit.Folds"/>), one ordinary run folder per fold (<c>fold_0</c> .. <c>fold_K-1</c>, each resumable,
/// each validated on its own fold and tested on the split's test ids) under one root, and
/// <c>cv_summary.json</c> / <c>cv_summary.md</c>: each fold's validation and test metrics, their mean ± std, and, once
/// every fold is done, the test metrics of the folds' ensemble (the mean of their probabilities). Folds may run on
/// different machines sharing the root; the summary is rewritten whenever a fold finishes.
/// </summary>
public sealed class CrossValidation
{
    /// <summary>The folds' results and their mean and spread, as JSON.</summary>
    public const string SummaryJson = "cv_summary.json";
    /// <summary>The same as a Markdown table.</summary>
    public const string SummaryMarkdown = "cv_summary.md";
    private readonly TrainingConfig recipe;

    /// <summary>The cross-validation's folder.</summary>
    public string Root { get; }
    /// <summary>Folds.</summary>
    public int Folds { get; }

    /// <summary>A k-fold cross-validation of <paramref name="recipe"/> in <paramref name="root"/>.</summary>
    public CrossValidation(TrainingConfig recipe, string root, int folds)
    {
        this.recipe = recipe;
        Root = Path.GetFullPath(root);
        Folds = folds;
    }

    /// <summary>The run folder of one fold.</summary>
    public static string FoldFolder(string root, int fold) => Path.Combine(root, $"fold_{fold}");
    private string FoldSplitPath(int fold) => Path.Combine(Root, "folds", $"fold_{fold}.json");
    private string PlanPath => Path.Combine(Root, "folds", "plan.json");

    /// <summary>
    /// Writes the folds' split files once; later calls (another fold, another machine, a rerun) check that they were
    /// made from the same data, split, seed and K.
    /// </summary>
    public void Prepare()
    {
        var plan = new JsonObject { ["folds"] = Folds, ["seed"] = recipe.Seed, ["data"] = recipe.Data, ["split"] = recipe.Split };
        if (File.Exists(PlanPath))
        {
            var have = JsonNode.Parse(File.ReadAllText(PlanPath))!;
            if (!JsonNode.DeepEquals(have, plan))
                throw new ArgumentException($"{Root} holds a cross-validation made with other settings ({have.ToJsonString()}); use another folder");
            return;
        }
        var splits = Trainer.BaseSplit(recipe, DatasetScanner.Scan(recipe.Data, recipe.MaskSuffix)).Folds(Folds, recipe.Seed);
        Directory.CreateDirectory(Path.GetDirectoryName(PlanPath)!);
        for (int i = 0; i < Folds; i++) splits[i].Save(FoldSplitPath(i));
        AtomicFile.WriteAllText(PlanPath, plan.ToJsonString());
    }

    /// <summary>The recipe of one fold: its split file, validated on the fold.</summary>
    public TrainingConfig FoldConfig(int fold)
    {
        var c = TrainingConfig.FromJson(recipe.ToJson());
        c.Split = FoldSplitPath(fold);
        c.SelectOn = "val";
        return c;
    }

    /// <summary>Trains one fold; an interrupted fold resumes, a finished one is left as it is.</summary>
    public void RunFold(int fold, ITrainingReporter reporter, CancellationToken cancel)
    {
        var config = FoldConfig(fold);
        var run = new RunFolder(FoldFolder(Root, fold));
        if (Finished(fold)) { reporter.Info($"fold {fold}: finished run found in {run.Root}"); return; }
        bool started = File.Exists(run.LastCheckpoint);
        reporter.Info($"fold {fold} of {Folds}: {(started ? "resuming" : "training")} in {run.Root}");
        new Trainer(config, run, reporter).Run(started, cancel);
    }

    /// <summary>A fold has run all its epochs and, when there are test ids, has its test result.</summary>
    public bool Finished(int fold)
    {
        var dir = FoldFolder(Root, fold);
        if (!File.Exists(Path.Combine(dir, "metrics.csv"))) return false;
        var run = new RunFolder(dir);
        bool hasTest = File.Exists(FoldSplitPath(fold)) && DataSplit.Load(FoldSplitPath(fold)).Test.Count > 0;
        return run.ReadMetrics().Count >= recipe.Epochs && (!hasTest || File.Exists(run.TestPath));
    }

    /// <summary>
    /// Writes <c>cv_summary.json</c> and <c>cv_summary.md</c> from the folds finished so far; with all folds finished
    /// and test ids, also the ensemble's test metrics.
    /// </summary>
    public JsonObject Summarize(Device device, Action<int, int>? progress = null)
    {
        var rows = new JsonArray();
        var done = Enumerable.Range(0, Folds).Where(Finished).ToList();
        foreach (int fold in done)
        {
            var run = new RunFolder(FoldFolder(Root, fold));
            var metrics = run.ReadMetrics();
            JsonObject? test = File.Exists(run.TestPath) ? JsonNode.Parse(File.ReadAllText(run.TestPath))!.AsObject() : null;
            int bestEpoch = test?["best_epoch"]?.GetValue<int>() ?? metrics.MinBy(m => m.ValLoss)!.Epoch;
            var best = metrics.First(m => m.Epoch == bestEpoch);
            rows.Add(new JsonObject
            {
                ["fold"] = fold,
                ["best_epoch"] = bestEpoch + 1,
                ["val_miou"] = best.ValMIoU,
                ["val_dsc"] = best.ValDsc,
                ["test"] = test == null ? null : Pick(test),
            });
        }
        var summary = new JsonObject
        {
            ["folds"] = Folds,
            ["finished"] = new JsonArray(done.Select(f => (JsonNode)f).ToArray()),
            ["per_fold"] = rows,
            ["mean_std"] = MeanStd(rows),
            ["ensemble_test"] = done.Count == Folds ? EnsembleTest(device, progress) : null,
        };
        AtomicFile.WriteAllText(Path.Combine(Root, SummaryJson), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        AtomicFile.WriteAllText(Path.Combine(Root, SummaryMarkdown), Markdown(summary));
        return summary;
    }

    private static readonly string[] TestKeys = ["miou", "dsc", "acc", "sen", "spe"];

    private static JsonObject Pick(JsonObject metrics) => new(TestKeys.Select(k => KeyValuePair.Create(k, (JsonNode?)metrics[k]!.GetValue<double>())));

    private static JsonObject MeanStd(JsonArray rows)
    {
        var result = new JsonObject();
        void Add(string name, IEnumerable<double> values)
        {
            var (mean, std, n) = EvaluationRecord.Stats(values);
            if (n > 0) result[name] = new JsonObject { ["mean"] = mean, ["std"] = std, ["n"] = n };
        }
        Add("val_miou", rows.Select(r => r!["val_miou"]!.GetValue<double>()));
        Add("val_dsc", rows.Select(r => r!["val_dsc"]!.GetValue<double>()));
        foreach (var k in TestKeys)
            Add("test_" + k, rows.Where(r => r!["test"] is JsonObject).Select(r => r!["test"]![k]!.GetValue<double>()));
        return result;
    }

    /// <summary>The test split scored with the mean probabilities of every fold's selected weights.</summary>
    private JsonObject? EnsembleTest(Device device, Action<int, int>? progress)
    {
        var split = DataSplit.Load(FoldSplitPath(0));
        if (split.Test.Count == 0) return null;
        var samples = DatasetScanner.Scan(recipe.Data, recipe.MaskSuffix).Pick(split.Test).Parts[0];
        // Scored with libtorch on the training device, as each fold's own test is.
        var (ensemble, _) = TorchEngineProvider.Open(Root, new SegmenterOptions { Engine = SegmenterEngine.Torch, Device = device.ToString() }, null);
        using var _ = ensemble;
        IPooledMetrics metrics = ensemble.Classes == 1
            ? DatasetEvaluation.Run(ensemble, samples, ensemble.InputSize, recipe.BatchSize, recipe.Threshold, originalResolution: false, progress: progress).Record.Metrics
            : ClassDatasetEvaluation.Run(ensemble, samples, ensemble.InputSize, recipe.BatchSize, originalResolution: false, progress: progress).Record.AtNetworkSize;
        var json = Pick(metrics.ToJson());
        json["images"] = metrics.Images;
        return json;
    }

    private static string Markdown(JsonObject s)
    {
        var inv = CultureInfo.InvariantCulture;
        string F(JsonNode? v) => v == null ? "" : v.GetValue<double>().ToString("F4", inv);
        var md = new StringBuilder();
        md.AppendLine($"# Cross-validation: {s["finished"]!.AsArray().Count} of {s["folds"]} folds finished");
        md.AppendLine();
        md.AppendLine("| fold | best epoch | val mIoU | val DSC | test mIoU | test DSC | test Acc | test Sen | test Spe |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in s["per_fold"]!.AsArray())
        {
            var t = r!["test"];
            md.AppendLine($"| {r["fold"]} | {r["best_epoch"]} | {F(r["val_miou"])} | {F(r["val_dsc"])} | {F(t?["miou"])} | {F(t?["dsc"])} | {F(t?["acc"])} | {F(t?["sen"])} | {F(t?["spe"])} |");
        }
        var ms = s["mean_std"]!;
        string M(string k) => ms[k] is JsonObject o ? $"{F(o["mean"])} ± {F(o["std"])}" : "";
        md.AppendLine($"| mean ± std | | {M("val_miou")} | {M("val_dsc")} | {M("test_miou")} | {M("test_dsc")} | {M("test_acc")} | {M("test_sen")} | {M("test_spe")} |");
        if (s["ensemble_test"] is JsonObject e)
            md.AppendLine($"| ensemble ({e["images"]} test images) | | | | {F(e["miou"])} | {F(e["dsc"])} | {F(e["acc"])} | {F(e["sen"])} | {F(e["spe"])} |");
        md.AppendLine();
        md.AppendLine("Validation: each fold's own held-out fold at its selected epoch (lowest validation loss). Test: the split's test ids, " +
                      "each fold's selected weights; the ensemble averages the folds' probabilities. Metrics as the paper computes them " +
                      "(one confusion matrix pooled over all test pixels at the network's size, threshold 0.5).");
        return md.ToString();
    }
}

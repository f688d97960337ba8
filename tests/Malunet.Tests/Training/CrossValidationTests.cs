using System.Text.Json.Nodes;
using Malunet.Data;
using Malunet.Inference;
using Malunet.Models;
using Malunet.Tests.Cli;
using Malunet.Training;
using static TorchSharp.torch;

namespace Malunet.Tests.Training;

/// <summary>
/// <c>train --folds K</c>: the folds partition the training ids, each fold is an ordinary run folder, the summary
/// holds every fold and the ensemble, a rerun or <c>--fold I</c> reuses finished folds, and <c>evaluate</c> /
/// <c>predict</c> take the folder and average the folds.
/// </summary>
[Collection(SeededRandomness.Name)]
public class CrossValidationTests : TempFolderTest
{
    [Fact]
    public void Folds_partition_the_training_ids_and_keep_the_test_ids()
    {
        var ids = Enumerable.Range(0, 103).Select(i => $"ISIC_{i:D7}").ToList();
        var split = DataSplit.Make(ids, 80, 42).WithValidation(0.1, 42);
        var folds = split.Folds(5, 42);
        Assert.Equal(5, folds.Count);
        var pool = split.Train.Concat(split.Val).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(pool, folds.SelectMany(f => f.Val).Order(StringComparer.Ordinal).ToList()); // every id validates once
        foreach (var f in folds)
        {
            Assert.Empty(f.Train.Intersect(f.Val));
            Assert.Equal(pool, f.Train.Concat(f.Val).Order(StringComparer.Ordinal).ToList());
            Assert.Equal(split.Test, f.Test);
            Assert.InRange(f.Val.Count, pool.Count / 5, pool.Count / 5 + 1);
        }
        Assert.Equal(folds.Select(f => f.Val), split.Folds(5, 42).Select(f => f.Val)); // deterministic
        Assert.NotEqual(folds[0].Val, split.Folds(5, 7)[0].Val);
        Assert.Throws<ArgumentException>(() => split.Folds(1, 42));
    }

    [Fact]
    public void An_ensemble_averages_its_members()
    {
        manual_seed(1);
        using var a = new TorchEngine(ModelCatalog.Create(new ModelOptions()), CPU);
        using var b = new TorchEngine(ModelCatalog.Create(new ModelOptions()), CPU);
        var x = rand(2, 3, 64, 64) * 255;
        var both = new EnsembleEngine([a, b]).Run(x);
        Assert.True(TensorAssert.MaxAbsDiff(both, (a.Run(x) + b.Run(x)) / 2) < 1e-6);
    }

    [Fact]
    public void Cross_validation_trains_every_fold_summarises_and_ensembles_in_evaluate_and_predict()
    {
        var data = Path.Combine(dir, "data");
        SyntheticLesions.Write(data, 30, 96);
        var root = Path.Combine(dir, "cv");
        string[] recipe = ["--data", data, "--epochs", "1", "--batch-size", "4", "--image-size", "64", "--cache-dir", Path.Combine(dir, "cache"), "--out", root];
        var r = CliRunner.Run(["train", "--folds", "3", .. recipe]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        for (int i = 0; i < 3; i++)
        {
            var fold = new RunFolder(CrossValidation.FoldFolder(root, i));
            Assert.True(File.Exists(fold.TestPath), fold.TestPath);
            Assert.Single(fold.ReadMetrics());
        }
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(root, CrossValidation.SummaryJson)))!;
        Assert.Equal(3, summary["per_fold"]!.AsArray().Count);
        Assert.Equal(3, summary["mean_std"]!["test_miou"]!["n"]!.GetValue<int>());
        var ensemble = summary["ensemble_test"]!;
        Assert.InRange(ensemble["miou"]!.GetValue<double>(), 0.0, 1.0);
        Assert.True(ensemble["images"]!.GetValue<int>() > 0);
        Assert.Contains("| mean ± std |", File.ReadAllText(Path.Combine(root, CrossValidation.SummaryMarkdown)));

        // A rerun of one fold finds it finished; another K in the same folder is refused.
        var again = CliRunner.Run(["train", "--folds", "3", "--fold", "1", .. recipe]);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("fold 1: finished run found", again.Stdout + again.Stderr);
        var otherK = CliRunner.Run(["train", "--folds", "4", .. recipe]);
        Assert.Equal(2, otherK.ExitCode);
        Assert.Contains("other settings", otherK.Stderr);

        // evaluate and predict take the folder: the folds' mean probabilities, scored like the summary's ensemble.
        var eval = CliRunner.Run("evaluate", "--weights", root, "--data", data, "--split", Path.Combine(root, "folds", "fold_0.json"), "--subset", "test", "--json");
        Assert.True(eval.ExitCode == 0, eval.Stderr);
        Assert.Contains("ensemble of 3", eval.Stderr);
        var evaluated = JsonNode.Parse(eval.Stdout)!;
        Assert.Equal(ensemble["miou"]!.GetValue<double>(), evaluated["miou"]!.GetValue<double>(), 6);
        var predicted = Path.Combine(dir, "predicted");
        var p = CliRunner.Run("predict", "--weights", root, "--input", Path.Combine(data, "images"), "--output", predicted);
        Assert.True(p.ExitCode == 0, p.Stderr);
        Assert.Equal(30, Directory.GetFiles(predicted, "*_mask.png").Length);
    }
}

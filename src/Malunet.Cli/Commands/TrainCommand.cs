using System.CommandLine;
using Malunet.Models;
using Malunet.Native;
using Malunet.Training;

namespace Malunet.Cli.Commands;

/// <summary><c>malunet train</c>: the paper's recipe on a dataset folder, into a run folder.</summary>
public static class TrainCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var device = new DeviceArguments();
        var recipe = new RecipeArguments();
        var output = new Option<string?>("--out") { Description = "Run folder (default runs/<timestamp>)" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder where it stopped" };
        var folds = new Option<int?>("--folds") { Description = "K-fold cross-validation: train K models, each validated on its own fold of the training ids; --out holds fold_0 .. fold_K-1 and cv_summary.json/.md" };
        var fold = new Option<int?>("--fold") { Description = "With --folds: run only this fold (0-based), e.g. one fold per machine" };

        var cmd = new Command("train", "Train a network with the paper's recipe (BCE+Dice, AdamW, cosine annealing, flips and rotation)");
        var maxPixels = PixelLimitOption.Create();
        foreach (var o in new Option[] { output, resume, folds, fold, maxPixels }) cmd.Options.Add(o);
        recipe.AddTo(cmd);
        model.AddTo(cmd);
        device.AddTo(cmd);

        cmd.SetAction(r =>
        {
            PixelLimitOption.Apply(r, maxPixels);
            var resumeDir = r.GetValue(resume);
            TrainingConfig c;
            RunFolder run;
            if (resumeDir != null)
            {
                if (r.GetValue(folds) != null || r.GetValue(fold) != null)
                    throw new UsageException("--resume continues one run; to continue a cross-validation, run the same train --folds command again");
                run = new RunFolder(resumeDir);
                if (!File.Exists(run.ConfigPath)) throw new FileNotFoundException($"{run.ConfigPath}: not a run folder (no config.json)");
                c = TrainingConfig.Load(run.ConfigPath);
                if (r.GetValue(recipe.Epochs) is { } e) c.Epochs = e; // extending a finished run
            }
            else
            {
                c = recipe.Bind(r, model, device);
                if (c.Init != null) c.Init = InitWeightsPath(c.Init, c.Model, r.GetValue(model.TrainedOn)!);
                var outDir = r.GetValue(output) ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss"));
                if (r.GetValue(folds) is { } k)
                {
                    Check(c, fresh: true);
                    return CrossValidate(c, outDir, k, r.GetValue(fold));
                }
                if (r.GetValue(fold) != null) throw new UsageException("--fold needs --folds K");
                if (File.Exists(Path.Combine(outDir, "checkpoints", "last.safetensors")))
                    throw new UsageException($"{outDir} already holds a run; use --resume {outDir} or another --out");
                run = new RunFolder(outDir);
            }

            Check(c, fresh: resumeDir == null);

            bool fresh = resumeDir == null;
            TrainingOutcome outcome;
            try
            {
                outcome = RunStoppable(cancel => ProgressReporter.Run(rep =>
                {
                    rep.Info($"run folder: {run.Root}");
                    try { return new Trainer(c, run, rep).Run(resumeDir != null, cancel); }
                    catch (DataProblemsException e)
                    {
                        foreach (var p in e.Problems) Console.Error.WriteLine($"malunet: {p}");
                        throw;
                    }
                }));
            }
            catch (Exception) when (fresh && !File.Exists(run.LastCheckpoint))
            {
                // A fresh run that stopped before its first checkpoint (no data, a bad file, a bad split) leaves no
                // empty run folder behind.
                run.DeleteIfEmpty();
                throw;
            }
            Console.WriteLine($"done: {outcome.EpochsRun} epoch(s) run, best epoch {outcome.BestEpoch + 1}; run folder {outcome.RunFolder}");
            return 0;
        });
        return cmd;
    }

    /// <summary>
    /// <c>--folds K [--fold I]</c>: the folds (all, or fold I) one after another, each resumed or skipped when a
    /// previous attempt got that far, with the summary rewritten after each.
    /// </summary>
    private static int CrossValidate(TrainingConfig c, string root, int k, int? only)
    {
        if (only is { } f && (f < 0 || f >= k)) throw new UsageException($"--fold must be between 0 and {k - 1}, got {f}");
        TorchRuntime.EnsureLoaded();
        var cv = new CrossValidation(c, root, k);
        try { cv.Prepare(); }
        catch (ArgumentException e) { throw new UsageException(e); }
        var device = TorchRuntime.ResolveDevice(c.Device);
        foreach (int i in only is { } one ? [one] : Enumerable.Range(0, k))
        {
            RunStoppable(cancel => ProgressReporter.Run(rep => { cv.RunFold(i, rep, cancel); return 0; }));
            ProgressReporter.Run(rep => cv.Summarize(device, (d, n) => rep.Phase("ensemble of the folds on the test images", d, n)));
            Console.WriteLine($"fold {i} done; {Path.Combine(cv.Root, CrossValidation.SummaryMarkdown)} updated");
        }
        Console.WriteLine();
        Console.Write(File.ReadAllText(Path.Combine(cv.Root, CrossValidation.SummaryMarkdown)));
        return 0;
    }

    /// <summary>--init's file: the bundled weights of the model (trained on <paramref name="dataset"/>) for "bundled", else the path as given (made absolute).</summary>
    private static string InitWeightsPath(string given, ModelOptions options, string dataset)
    {
        if (!given.Equals("bundled", StringComparison.OrdinalIgnoreCase))
            return File.Exists(given) ? Path.GetFullPath(given) : throw new FileNotFoundException($"{given}: no such weights file (--init)");
        return ModelArguments.Bundled(options.Model, dataset, "--init bundled");
    }

    /// <summary>
    /// Flags and config files alike (a resumed run's --epochs too) are checked before any data is decoded: a bad value,
    /// or for a new run --init weights that do not fit the network, is a usage error.
    /// </summary>
    private static void Check(TrainingConfig c, bool fresh)
    {
        try { c.Validate(); }
        catch (ArgumentException e) { throw new UsageException(e); }
        if (fresh && c.Init != null) CheckInitWeights(c);
    }

    /// <summary>--init's weights must fit the network: loaded once into a throwaway copy of it.</summary>
    private static void CheckInitWeights(TrainingConfig c)
    {
        TorchRuntime.EnsureLoaded();
        using var probe = ModelCatalog.Create(c.Model);
        try { InitialWeights.Apply(probe, c.Init!); }
        catch (IncompatibleWeightsException e) { throw new UsageException($"--init: {e.Message}"); }
    }

    /// <summary>
    /// Runs training work that stops cleanly on Ctrl-C: the first press cancels the token (the trainer finishes the
    /// batch, writes a checkpoint and throws OperationCanceledException, exit 130); a second ends the process.
    /// </summary>
    internal static T RunStoppable<T>(Func<CancellationToken, T> work)
    {
        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            if (cts.IsCancellationRequested) return; // a second Ctrl-C ends the process at once
            e.Cancel = true;
            cts.Cancel();
            Console.Error.WriteLine("malunet: stopping after this batch and writing a checkpoint (Ctrl-C again to abort at once)");
        };
        Console.CancelKeyPress += onCancel;
        try { return work(cts.Token); }
        finally { Console.CancelKeyPress -= onCancel; }
    }
}

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
        var data = new Option<string?>("--data") { Description = "Dataset folder (ISIC 2017/2018 layout, train/images + train/masks, or images/ + masks/)" };
        var split = new Option<string?>("--split") { Description = "JSON split file {\"train\": [ids], \"test\": [ids], optional \"val\"}" };
        var splitRatio = new Option<double?>("--split-ratio") { Description = "Without --split: fraction of images for training (default 0.7)" };
        var splitTrain = new Option<int?>("--split-train") { Description = "Without --split: number of images for training (the paper: 1500 of 2150)" };
        var seed = new Option<long?>("--seed") { Description = "Seed for the split, initialisation, order and augmentation (default 42)" };
        var valRatio = new Option<double?>("--val-ratio") { Description = "Fraction of the training split held out for selecting the best epoch (default 0.1)" };
        var selectOn = new Option<string?>("--select-on") { Description = "val (default) or test (the official protocol: selects on the test split)" };
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (default 300)" };
        var batch = new Option<int?>("--batch-size") { Description = "Batch size (default 8)" };
        var lr = new Option<double?>("--lr") { Description = "AdamW learning rate (default 1e-3)" };
        var wd = new Option<double?>("--weight-decay") { Description = "AdamW weight decay (default 1e-2)" };
        var tMax = new Option<int?>("--t-max") { Description = "Cosine annealing period in epochs (default 50)" };
        var etaMin = new Option<double?>("--eta-min") { Description = "Cosine annealing minimum learning rate (default 1e-5)" };
        var threshold = new Option<double?>("--threshold") { Description = "Probability threshold for the metrics (default 0.5)" };
        var noAugment = new Option<bool>("--no-augment") { Description = "Turn off flips and rotation" };
        var limit = new Option<int?>("--limit") { Description = "Quick checks: only the first N training images and N/4 validation and test images" };
        var skipBad = new Option<bool>("--skip-bad") { Description = "Leave out unpaired or unreadable files (listed) instead of stopping" };
        var imageSize = new Option<int?>("--image-size") { Description = "Network input size, a multiple of 32 (default 256); it travels with the weights" };
        var maskSuffix = new Option<string?>("--mask-suffix") { Description = "Pair image X with mask X<SUFFIX> only (default: _segmentation, _Segmentation, _lesion, _mask, _gt or the same name)" };
        var cacheDir = new Option<string?>("--cache-dir") { Description = "Where decoded images are cached (default ~/.cache/malunet)" };
        var config = new Option<string?>("--config") { Description = "JSON config file (keys as in a run's config.json); flags override it" };
        var output = new Option<string?>("--out") { Description = "Run folder (default runs/<timestamp>)" };
        var resume = new Option<string?>("--resume") { Description = "Continue the run in this folder where it stopped" };
        var folds = new Option<int?>("--folds") { Description = "K-fold cross-validation: train K models, each validated on its own fold of the training ids; --out holds fold_0 .. fold_K-1 and cv_summary.json/.md" };
        var fold = new Option<int?>("--fold") { Description = "With --folds: run only this fold (0-based), e.g. one fold per machine" };
        var init = new Option<string?>("--init") { Description = "Fine-tune: start from these weights (our checkpoint, an official .pth, or 'bundled' for the bundled weights of --model) instead of a random initialisation" };

        var cmd = new Command("train", "Train a network with the paper's recipe (BCE+Dice, AdamW, cosine annealing, flips and rotation)");
        foreach (var o in new Option[] { data, split, splitRatio, splitTrain, seed, valRatio, selectOn, epochs, batch, lr, wd, tMax, etaMin, threshold, imageSize, maskSuffix, noAugment, limit, skipBad, cacheDir, config, output, resume, init, folds, fold })
            cmd.Options.Add(o);
        model.AddTo(cmd);
        device.AddTo(cmd);

        cmd.SetAction(r =>
        {
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
                if (r.GetValue(epochs) is { } e) c.Epochs = e; // extending a finished run
            }
            else
            {
                c = r.GetValue(config) is { } cfg ? TrainingConfig.Load(cfg) : new TrainingConfig();
                if (r.GetValue(data) is { } d) c.Data = d;
                if (string.IsNullOrEmpty(c.Data)) throw new UsageException("--data is required (or a --config that names it)");
                if (r.GetValue(split) is { } s) c.Split = s;
                if (r.GetValue(splitRatio) is { } sr) c.SplitRatio = sr;
                if (r.GetValue(splitTrain) is { } st) c.SplitTrainCount = st;
                if (r.GetValue(seed) is { } sd) c.Seed = sd;
                if (r.GetValue(valRatio) is { } vr) c.ValRatio = vr;
                if (r.GetValue(selectOn) is { } so) c.SelectOn = so;
                if (r.GetValue(epochs) is { } ep) c.Epochs = ep;
                if (r.GetValue(batch) is { } bs) c.BatchSize = bs;
                if (r.GetValue(lr) is { } l) c.Lr = l;
                if (r.GetValue(wd) is { } w) c.WeightDecay = w;
                if (r.GetValue(tMax) is { } tm) c.TMax = tm;
                if (r.GetValue(etaMin) is { } em) c.EtaMin = em;
                if (r.GetValue(threshold) is { } th) c.Threshold = th;
                if (r.GetValue(noAugment)) c.Augment = false;
                if (r.GetValue(limit) is { } li) c.Limit = li;
                if (r.GetValue(skipBad)) c.SkipBad = true;
                if (r.GetValue(cacheDir) is { } cd) c.CacheDir = cd;
                if (r.GetValue(imageSize) is { } isz) c.ImageSize = isz;
                if (r.GetValue(maskSuffix) is { } ms) c.MaskSuffix = ms;
                // Model flags win over a config file; without a config file the flags (or their defaults) apply.
                if (r.GetValue(config) == null || model.AnyGiven(r)) c.Model = model.Bind(r);
                if (r.GetValue(init) is { } initWeights) c.Init = InitWeightsPath(initWeights, c.Model);
                c.Device = r.GetValue(device.Device)!;
                c.Threads = r.GetValue(device.Threads);
                var outDir = r.GetValue(output) ?? Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss"));
                if (r.GetValue(folds) is { } k)
                {
                    try { c.Validate(); }
                    catch (ArgumentException e) { throw new UsageException(e.Message); }
                    if (c.Init != null) CheckInitWeights(c);
                    return CrossValidate(c, outDir, k, r.GetValue(fold));
                }
                if (r.GetValue(fold) != null) throw new UsageException("--fold needs --folds K");
                if (File.Exists(Path.Combine(outDir, "checkpoints", "last.safetensors")))
                    throw new UsageException($"{outDir} already holds a run; use --resume {outDir} or another --out");
                run = new RunFolder(outDir);
            }

            // Flags and config files alike (a resumed run's --epochs too) are checked here: a bad value is a usage error.
            try { c.Validate(); }
            catch (ArgumentException e) { throw new UsageException(e.Message); }
            if (resumeDir == null && c.Init != null) CheckInitWeights(c);

            var outcome = RunStoppable(cancel => ProgressReporter.Run(rep =>
            {
                rep.Info($"run folder: {run.Root}");
                try { return new Trainer(c, run, rep).Run(resumeDir != null, cancel); }
                catch (DataProblemsException e)
                {
                    foreach (var p in e.Problems) Console.Error.WriteLine($"malunet: {p}");
                    throw;
                }
            }));
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
        catch (ArgumentException e) { throw new UsageException(e.Message); }
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

    /// <summary>--init's file: the bundled weights of the model for "bundled", else the path as given (made absolute).</summary>
    private static string InitWeightsPath(string given, ModelOptions options)
    {
        if (!given.Equals("bundled", StringComparison.OrdinalIgnoreCase))
            return File.Exists(given) ? Path.GetFullPath(given) : throw new FileNotFoundException($"{given}: no such weights file (--init)");
        return BundledWeights.Find(options.Model)
               ?? throw new UsageException($"--init bundled: there are no bundled weights for --model {options.Model} (bundled: {string.Join(", ", BundledWeights.Models())})");
    }

    /// <summary>Weights that do not fit the network are a usage error before any data is decoded.</summary>
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

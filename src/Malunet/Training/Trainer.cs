using System.Diagnostics;
using System.Text.Json.Nodes;
using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Models;
using Malunet.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Training;

/// <summary>Training progress, for a progress bar or plain log lines.</summary>
public interface ITrainingReporter
{
    /// <summary>A line for the user.</summary>
    void Info(string line);
    /// <summary>A warning for the user.</summary>
    void Warn(string line);
    /// <summary>Progress of a non-training phase (decoding images, evaluating).</summary>
    void Phase(string name, int done, int total);
    /// <summary>An epoch begins: its number (from 0), the number of epochs and batches, and the learning rate.</summary>
    void EpochStarted(int epoch, int epochs, int batches, double lr);
    /// <summary>A batch is done: the mean loss so far in this epoch and the throughput.</summary>
    void BatchDone(int epoch, int batch, int batches, double meanLoss, double imagesPerSecond);
    /// <summary>An epoch is done: its metrics, and whether it is the best so far.</summary>
    void EpochDone(EpochMetrics metrics, bool improved);
}

/// <summary>Data problems that stop a run (use <c>--skip-bad</c> to leave those files out).</summary>
public sealed class DataProblemsException(IReadOnlyList<DataProblem> problems)
    : IOException($"{problems.Count} data problem(s); first: {problems[0]}. Fix them, or leave the bad files out")
{
    /// <summary>Every problem found, the fatal ones first.</summary>
    public IReadOnlyList<DataProblem> Problems { get; } = problems;
}

/// <summary>A training run stopped because its outputs or loss stopped being numbers in range; the message says where and why.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>What a finished run produced.</summary>
public sealed record TrainingOutcome(int EpochsRun, int BestEpoch, EvaluationResult? Test, string RunFolder);

/// <summary>
/// <c>malunet train</c>: the paper's recipe on real data (Section IV-A): BCE+Dice, AdamW, cosine annealing stepped
/// per epoch, flips and rotation. Selects the best epoch on a validation part of the training split (not on the
/// test set as the official code does, unless <c>SelectOn = test</c>), evaluates the test split once at the end,
/// checkpoints atomically after every epoch and on cancellation, and resumes exactly.
/// </summary>
public sealed class Trainer(TrainingConfig config, RunFolder run, ITrainingReporter reporter)
{
    /// <summary>Trains (from scratch or, with <paramref name="resume"/>, from the last checkpoint) until the last epoch or <paramref name="cancel"/>; then tests the selected weights.</summary>
    public TrainingOutcome Run(bool resume, CancellationToken cancel)
    {
        config.Validate();
        TorchRuntime.EnsureLoaded();
        if (config.Threads is { } t) set_num_threads(t);
        var device = TorchRuntime.ResolveDevice(config.Device);
        Inference.TorchKnownAnswers.Ensure(device, config.Model.Model);
        var (train, val, testIds) = PrepareData(resume);
        int testCount = testIds.Count;
        var (model, optimizer, state, history) = CreateModel(resume, device);

        var schedule = new CosineSchedule(config.Lr, config.TMax, config.EtaMin);
        var loss = ISegmentationLoss.For(config.Model.NumClasses, config.BceWeight, config.DiceWeight, config.DiceSmooth);
        var stream = new BatchStream(train, config.BatchSize, config.Seed, shuffle: true, augment: config.Augment);
        int epochsRun = 0;

        for (int epoch = state.Epoch; epoch < config.Epochs; epoch++)
        {
            double lr = schedule.At(epoch);
            optimizer.LearningRate = lr;
            int startBatch = epoch == state.Epoch ? state.Batch : 0;
            reporter.EpochStarted(epoch, config.Epochs, stream.BatchesPerEpoch, lr);
            var epochWatch = Stopwatch.StartNew();
            model.train();
            var (lossSum, batches, images) = TrainEpoch(model, optimizer, loss, stream, device, state, epoch, startBatch, epochWatch, cancel);
            double trainSeconds = epochWatch.Elapsed.TotalSeconds;
            var eval = Evaluator.Run(model, val, device, config.BatchSize, config.Threshold, loss, (d, n) => reporter.Phase("validating", d, n));
            double score = eval.MeanLoss;  // selection as the official code: lowest loss
            bool improved = score < state.BestScore;
            var row = new EpochMetrics(epoch, batches > 0 ? lossSum / batches : double.NaN, eval.MeanLoss, eval.Metrics.MIoU, eval.Metrics.Dsc, lr,
                                       epochWatch.Elapsed.TotalSeconds, images / trainSeconds, PeakRssMb());
            history.Add(row);
            state = state with { Epoch = epoch + 1, Batch = 0, OptimizerSteps = optimizer.Steps };
            if (improved)
            {
                state = state with { BestScore = score, BestEpoch = epoch };
                ModelCheckpoint.Save(run.BestCheckpoint, model, new Dictionary<string, string> { ["epoch"] = epoch.ToString(), ["selected_on"] = config.SelectOn });
            }
            TrainingState.Save(run.LastCheckpoint, model, optimizer, state, config);
            run.WriteMetrics(history);
            run.WriteCurves(history);
            WritePanels(model, val, device);
            run.Log($"epoch {epoch + 1}/{config.Epochs} train_loss {row.TrainLoss:F4} val_loss {row.ValLoss:F4} val_miou {row.ValMIoU:F4} val_dsc {row.ValDsc:F4} lr {lr:E3} {row.Seconds:F1}s {row.ImagesPerSecond:F1} img/s{(improved ? " best" : "")}");
            reporter.EpochDone(row, improved);
            epochsRun++;
        }

        // ---- final test with the selected weights; the training model and its optimizer state are no longer needed
        optimizer.Dispose();
        model.Dispose();
        GC.Collect();
        var testResult = testCount > 0 && File.Exists(run.BestCheckpoint) ? TestSelected(testIds, device, loss, state.BestEpoch) : null;
        return new TrainingOutcome(epochsRun, state.BestEpoch, testResult, run.Root);
    }

    /// <summary>The test split scored once, with the selected weights; <c>test.json</c>.</summary>
    private EvaluationResult TestSelected(List<Sample> testIds, Device device, ISegmentationLoss loss, int bestEpoch)
    {
        var test = ImageCache.Load(testIds, config.ImageSize, config.CacheDir ?? ImageCache.DefaultFolder(), out _, classes: config.Model.NumClasses);
        using var best = ModelCheckpoint.Load(run.BestCheckpoint);
        best.to(device);
        var testResult = Evaluator.Run(best, test, device, config.BatchSize, config.Threshold, loss, (d, n) => reporter.Phase("testing", d, n));
        var json = testResult.Metrics.ToJson();
        json["loss"] = testResult.MeanLoss;
        json["best_epoch"] = bestEpoch;
        json["selected_on"] = config.SelectOn;
        json["checkpoint"] = run.BestCheckpoint;
        run.WriteJson(run.TestPath, json);
        run.Log($"test ({test.Count} images, epoch {bestEpoch + 1}): {testResult.Metrics}");
        reporter.Info($"test ({test.Count} images, best epoch {bestEpoch + 1}): {testResult.Metrics}");
        run.Log($"memory after testing {RssMb():F0} MB, peak {PeakRssMb():F0} MB");
        return testResult;
    }

    /// <summary>The training, selection and test images of the run (the test images as files: decoded, checked, then freed).</summary>
    private sealed record TrainingData(List<CachedSample> Train, List<CachedSample> Val, List<Sample> TestIds);

    /// <summary>
    /// Scans the data, makes or reloads the split, decodes every image once (a bad file stops the run now, not after
    /// training) and keeps the training and selection images in memory.
    /// </summary>
    private TrainingData PrepareData(bool resume)
    {
        var scan = DatasetScanner.Scan(config.Data, config.MaskSuffix);
        reporter.Info($"data: {scan.Root} ({scan.Layout} layout, {scan.Samples.Count} images)");
        var problems = scan.Problems.ToList();
        DataSplit split = resume && File.Exists(run.SplitPath) ? DataSplit.Load(run.SplitPath) : MakeSplit(scan);
        var (parts, missing) = scan.Pick(split.Train, split.Val, split.Test);
        foreach (var id in missing)
            problems.Add(new DataProblem(config.Split ?? run.SplitPath, $"split names {id}, which has no image with a mask in {config.Data}", true));
        StopOrSkip(problems.Where(p => p.Fatal).ToList());
        if (!resume) run.WriteJson(run.SplitPath, split.ToJson());

        var trainSamples = parts[0];
        if (config.Limit is { } limit) trainSamples = trainSamples.Take(limit).ToList();
        var testSamples = parts[2];
        var valSamples = config.SelectOn == "test" ? testSamples : parts[1];
        if (config.Limit is { } l2) { valSamples = valSamples.Take(Math.Max(1, l2 / 4)).ToList(); testSamples = testSamples.Take(Math.Max(1, l2 / 4)).ToList(); }
        if (trainSamples.Count == 0) throw new InvalidDataException($"{config.Data}: no training images with masks");
        if (valSamples.Count == 0) throw new InvalidDataException("the selection set is empty: give a validation ratio above 0 or a split with \"val\" ids");
        if (config.SelectOn == "test")
            reporter.Warn("selecting the best epoch on the TEST split (--select-on test), as the official code does; the test metrics are then optimistic");

        var all = trainSamples.Concat(valSamples).Concat(testSamples).DistinctBy(s => s.Id).ToList();
        var sw = Stopwatch.StartNew();
        var cached = ImageCache.Load(all, config.ImageSize, config.CacheDir ?? ImageCache.DefaultFolder(), out var decodeProblems,
                                     (d, n) => reporter.Phase("decoding", d, n), config.Model.NumClasses);
        foreach (var p in DataProblem.Condense(decodeProblems.Where(p => !p.Fatal).ToList()))
            if (p.Information) reporter.Info(p.ToString()); else reporter.Warn(p.ToString());
        StopOrSkip(decodeProblems.Where(p => p.Fatal).ToList());
        reporter.Info($"decoded and cached {cached.Count} images at {config.ImageSize}x{config.ImageSize} in {sw.Elapsed.TotalSeconds:F1} s (memory {RssMb():F0} MB, peak {PeakRssMb():F0} MB)");
        var cachedById = cached.ToDictionary(c => c.Id);
        List<CachedSample> Cached(IEnumerable<Sample> s) => s.Where(x => cachedById.ContainsKey(x.Id)).Select(x => cachedById[x.Id]).ToList();
        var train = Cached(trainSamples);
        var val = Cached(valSamples);
        // The test images were decoded (so a bad file stops the run now, not after training) and are in the cache
        // file; their pixels leave memory until the final evaluation (170 MB for the paper's 650).
        var testIds = testSamples.Where(x => cachedById.ContainsKey(x.Id)).ToList();
        int testCount = testIds.Count;
        cached = Array.Empty<CachedSample>();
        cachedById.Clear();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        reporter.Info($"split: {train.Count} train, {val.Count} {(config.SelectOn == "test" ? "test (selection)" : "validation")}, {testCount} test");
        return new TrainingData(train, val, testIds);

    }

    /// <summary>The network (fresh, fine-tuned from <c>Init</c>, or resumed), its optimizer, position and history.</summary>
    private (SegmentationModel Model, AdamW Optimizer, TrainingState State, List<EpochMetrics> History) CreateModel(bool resume, Device device)
    {
        manual_seed(config.Seed);
        var model = ModelCatalog.Create(config.Model);
        model.InputSize = config.ImageSize;
        if (!resume && config.Init != null)
        {
            // Fine-tuning: the weights replace the random initialisation; optimizer and schedule start afresh.
            var fresh = InitialWeights.Apply(model, config.Init);
            reporter.Info($"initial weights: {config.Init}");
            if (fresh.Count > 0)
                reporter.Warn($"the output layer was re-initialised for {config.Model.NumClasses} class(es): {string.Join(", ", fresh)} differ in the class count");
        }
        model.to(device);
        var optimizer = new AdamW(model.named_parameters().Select(p => (p.name, p.parameter)), config.Lr, config.Beta1, config.Beta2, config.Eps, config.WeightDecay);
        optimizer.To(device);
        var state = new TrainingState(0, 0, 0, double.PositiveInfinity, -1);
        var history = new List<EpochMetrics>();
        if (resume)
        {
            if (!File.Exists(run.LastCheckpoint)) throw new FileNotFoundException($"{run.LastCheckpoint}: nothing to resume from");
            state = TrainingState.Load(run.LastCheckpoint, model, optimizer);
            history = run.ReadMetrics().Where(m => m.Epoch < state.Epoch).ToList();
            reporter.Info($"resuming at epoch {state.Epoch + 1}, batch {state.Batch + 1} ({state.OptimizerSteps} optimizer steps done)");
        }
        else
        {
            run.WriteJson(run.ConfigPath, config.ToJson());
        }
        run.Log($"start: {(resume ? "resume" : "new run")}; config {config.ToJson().ToJsonString()}");
        return (model, optimizer, state, history);

    }

    /// <summary>
    /// The batches of one epoch from <paramref name="startBatch"/> on; on cancellation, writes the checkpoint of the
    /// exact position and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    private (double LossSum, int Batches, int Images) TrainEpoch(SegmentationModel model, AdamW optimizer, ISegmentationLoss loss, BatchStream stream,
        Device device, TrainingState state, int epoch, int startBatch, Stopwatch epochWatch, CancellationToken cancel)
    {
        double lossSum = 0;
        int batches = 0, images = 0, b = startBatch;
        foreach (var batch in stream.Epoch(epoch, startBatch))
        {
            using var bt = batch;
            using (var scope = NewDisposeScope())
            {
                optimizer.ZeroGrad();
                var (y, sides) = model.ForwardWithSideOutputs(bt.Images.to(device));
                foreach (var p in sides.Prepend(y)) CheckProbabilities(p, epoch, b);
                var l = loss.Compute(y, sides, model.SideOutputWeights, bt.Masks.to(device));
                float batchLoss = l.item<float>();
                if (!float.IsFinite(batchLoss)) throw Diverged(epoch, b, $"the loss is {batchLoss}");
                l.backward();
                optimizer.Step();
                lossSum += batchLoss;
            }
            batches++; images += bt.Count; b++;
            reporter.BatchDone(epoch, b, stream.BatchesPerEpoch, lossSum / batches, images / epochWatch.Elapsed.TotalSeconds);
            if (cancel.IsCancellationRequested)
            {
                var at = b < stream.BatchesPerEpoch ? state with { Epoch = epoch, Batch = b, OptimizerSteps = optimizer.Steps }
                                                    : state with { Epoch = epoch + 1, Batch = 0, OptimizerSteps = optimizer.Steps };
                TrainingState.Save(run.LastCheckpoint, model, optimizer, at, config);
                run.Log($"interrupted at epoch {epoch + 1}, batch {b}; checkpoint written");
                reporter.Info($"interrupted: checkpoint written to {run.LastCheckpoint}; continue with --resume {run.Root}");
                throw new OperationCanceledException("training interrupted");
            }
        }
        return (lossSum, batches, images);
    }

    /// <summary>
    /// Stops the run before the loss sees probabilities that are NaN or outside [0, 1] (libtorch's BCE would throw
    /// with a stack trace; a wrong network would train on garbage).
    /// </summary>
    private void CheckProbabilities(Tensor p, int epoch, int batch)
    {
        using var scope = NewDisposeScope();
        var (min, max) = (p.min().item<float>(), p.max().item<float>());
        if (!(min >= 0 && max <= 1)) throw Diverged(epoch, batch, $"the network's output is {(float.IsNaN(min) || float.IsNaN(max) ? "NaN" : $"outside [0, 1] (min {min}, max {max})")}");
    }

    private TrainingDivergedException Diverged(int epoch, int batch, string what)
    {
        var message = $"training stopped at epoch {epoch + 1}, batch {batch + 1}: {what}. Likely causes: the weights diverged " +
                      "(a learning rate too high for this data), or the processor computes the network wrong (run 'malunet doctor'). " +
                      (File.Exists(run.LastCheckpoint) ? $"The last good checkpoint, {run.LastCheckpoint}, is kept." : "No epoch had finished, so no checkpoint was written.");
        run.Log(message);
        return new TrainingDivergedException(message);
    }

    private DataSplit MakeSplit(DatasetScan scan)
    {
        var split = BaseSplit(config, scan);
        return config.SelectOn == "val" ? split.WithValidation(config.ValRatio, config.Seed) : split;
    }

    /// <summary>The train/test split a config asks for (its split file, or made from the scan), before validation.</summary>
    public static DataSplit BaseSplit(TrainingConfig config, DatasetScan scan)
    {
        if (config.Split != null) return DataSplit.Load(config.Split);
        // The paper pools the challenge's training and validation images; an official test part stays out.
        var pool = scan.Samples.Where(s => s.MaskPath != null && s.Subset != "test").Select(s => s.Id).Distinct().ToList();
        return config.SplitTrainCount is { } n ? DataSplit.Make(pool, n, config.Seed) : DataSplit.Make(pool, config.SplitRatio, config.Seed);
    }

    private void StopOrSkip(List<DataProblem> fatal)
    {
        if (fatal.Count == 0) return;
        if (!config.SkipBad) throw new DataProblemsException(fatal);
        foreach (var p in fatal) reporter.Warn($"skipped: {p}");
        run.Log($"skipped {fatal.Count} file(s): {string.Join("; ", fatal)}");
    }

    private void WritePanels(SegmentationModel model, IReadOnlyList<CachedSample> val, Device device)
    {
        var pick = val.Take(config.Panels).ToList();
        if (pick.Count == 0) return;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        model.eval();
        var y = model.call(TensorBatches.Images(pick).to(device)).cpu();
        var preds = new List<byte[]>();
        for (int i = 0; i < pick.Count; i++)
            preds.Add((config.Model.NumClasses == 1 ? y[i, 0].ge(config.Threshold).to(ScalarType.Byte).mul(255) : y[i].argmax(0).to(ScalarType.Byte))
                      .contiguous().data<byte>().ToArray());
        model.train();
        run.WritePanels(pick, preds);
    }

    /// <summary>Peak resident memory of this process (VmHWM), in MB; 0 where /proc is not available.</summary>
    public static double PeakRssMb() => ProcStatusMb("VmHWM:");

    /// <summary>Current resident memory (VmRSS), in MB.</summary>
    public static double RssMb() => ProcStatusMb("VmRSS:");

    private static double ProcStatusMb(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return double.Parse(line[key.Length..].Trim().Split(' ')[0]) / 1024.0;
        }
        catch (IOException) { }
        return 0;
    }
}

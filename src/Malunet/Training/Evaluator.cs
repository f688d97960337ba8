using Malunet.Evaluation;
using Malunet.Data;
using Malunet.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Training;

/// <summary>Loss and pooled metrics of a network on cached samples.</summary>
public sealed record EvaluationResult(IPooledMetrics Metrics, double MeanLoss, int Images);

/// <summary>
/// Runs a network over cached samples in batches (no gradients, a dispose scope per batch) and accumulates the
/// pooled metrics of the network's class count (<see cref="IPooledMetrics.For"/>) and the mean per-image loss (the
/// official validation loss, batch 1); optionally hands each image's first-class probability map to a callback.
/// </summary>
public static class Evaluator
{
    /// <summary>The paper's pooled metrics of <paramref name="model"/> on decoded samples (the known answers first).</summary>
    public static EvaluationResult Run(SegmentationModel model, IReadOnlyList<CachedSample> samples, Device device,
                                       int batchSize = 8, double threshold = 0.5, ISegmentationLoss? loss = null,
                                       Action<int, int>? progress = null, Action<CachedSample, float[]>? probabilities = null)
    {
        Inference.TorchKnownAnswers.Ensure(device, model.Options.Model);
        int classes = model.Options.NumClasses;
        loss ??= ISegmentationLoss.For(classes);
        var metrics = IPooledMetrics.For(classes, threshold);
        double lossSum = 0;
        bool wasTraining = model.training;
        model.eval();
        var stream = new BatchStream(samples, batchSize, 0, shuffle: false, augment: false);
        int done = 0;
        using (no_grad())
        {
            foreach (var batch in stream.Epoch(0))
            {
                using var b = batch;
                using var scope = NewDisposeScope();
                var y = model.call(b.Images.to(device)).cpu();
                metrics.Add(y, b.Masks);
                for (int i = 0; i < b.Count; i++)
                    lossSum += loss.Compute(y.narrow(0, i, 1), b.Masks.narrow(0, i, 1)).item<float>();
                if (probabilities != null)
                    for (int i = 0; i < b.Count; i++)
                        probabilities(b.Samples[i], y[i, 0].contiguous().data<float>().ToArray());
                done += b.Count;
                progress?.Invoke(done, samples.Count);
            }
        }
        if (wasTraining) model.train();
        return new EvaluationResult(metrics, samples.Count > 0 ? lossSum / samples.Count : double.NaN, samples.Count);
    }
}

using System.Collections.Concurrent;
using Malunet.Data;
using Malunet.Evaluation;
using static TorchSharp.torch;

namespace Malunet.Inference;

/// <summary>
/// <see cref="DatasetEvaluation"/> for multi-class networks (K &gt;= 2 softmax outputs, class-index masks): streams
/// through the <see cref="ImagePipeline"/>, pooling the per-class confusion matrix at the network size (mask resized to
/// the nearest pixel, prediction = argmax) and, optionally, at each mask's original size (the K probability planes
/// resized back bilinearly, then argmax: the class map <c>predict</c> writes), with per-image per-class Dice and IoU at
/// the finer of the two. A mask value of K or more is a problem naming the file and the value.
/// </summary>
public static class ClassDatasetEvaluation
{
    /// <summary>Evaluates a K-class network on images with class-index masks, streamed; returns the record and the problems met.</summary>
    public static (ClassEvaluationRecord Record, IReadOnlyList<DataProblem> Problems) Run(
        IInferenceEngine engine, IReadOnlyList<Sample> samples, int size, int batchSize, bool originalResolution,
        Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        int classes = engine.Classes;
        if (classes < 2) throw new ArgumentException("a multi-class evaluation needs a network with 2 or more classes");
        var atNetworkSize = new ClassConfusionMetrics(classes);
        var original = originalResolution ? new ClassConfusionMetrics(classes) : null;
        var rows = new ConcurrentBag<ClassImageScores>();
        var problems = new ConcurrentBag<DataProblem>();

        IReadOnlyList<float[]> Predict(IReadOnlyList<(Sample Item, CachedSample Sample)> batch)
        {
            using var scope = NewDisposeScope();
            var decoded = batch.Select(b => b.Sample).ToList();
            var y = engine.Run(TensorBatches.Images(decoded));
            atNetworkSize.Add(y, TensorBatches.Masks(decoded));
            return Enumerable.Range(0, batch.Count).Select(i => y[i].contiguous().data<float>().ToArray()).ToList();
        }

        void Finish(Sample sample, CachedSample decoded, float[] prob)
        {
            int n = decoded.Size;
            if (original == null)
            {
                rows.Add(ClassImageScores.Of(decoded.Id, decoded.MaskWidth, decoded.MaskHeight, ProbabilityResize.ResizeToLabels(prob, classes, n, n, n, n), decoded.Mask, classes));
                return;
            }
            var truth = ClassMasks.Decode(sample.MaskPath!); // its values were checked when it was decoded for the network
            var predicted = ProbabilityResize.ResizeToLabels(prob, classes, n, n, truth.Width, truth.Height);
            lock (original) original.Add(predicted, truth.Pixels);
            rows.Add(ClassImageScores.Of(decoded.Id, truth.Width, truth.Height, predicted, truth.Pixels, classes));
        }

        ImagePipeline.Run(samples, batchSize, s => ImageCache.Decode(s, size, classes), Predict, Finish,
            (s, e) => problems.Add(DataProblem.FromMessage(s.ImagePath, e.Message)),
            d => progress?.Invoke(d, samples.Count), workers: DatasetEvaluation.Workers, cancel: cancel);
        return (new ClassEvaluationRecord(atNetworkSize, original, rows.OrderBy(r => r.Id, StringComparer.Ordinal).ToList()),
                problems.OrderBy(p => p.Path, StringComparer.Ordinal).ToList());
    }
}

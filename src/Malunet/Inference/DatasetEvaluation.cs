using System.Collections.Concurrent;
using Malunet.Data;
using Malunet.Evaluation;
using static TorchSharp.torch;

namespace Malunet.Inference;

/// <summary>
/// Evaluates a network on images with masks as a stream (<see cref="ImagePipeline"/>): each image is decoded, run,
/// scored and dropped, while the pooled confusion counts and the per-image rows accumulate, so memory does not grow
/// with the number of images. The numbers are those of the paper's protocol: image and mask resized to the network
/// size, pooled counts over all pixels (<c>p &gt;= threshold</c>, <c>gt &gt;= 0.5</c>), plus per-image Dice, IoU and HD95
/// at that size and, optionally, at the mask's original size.
/// </summary>
public static class DatasetEvaluation
{
    /// <summary>
    /// The pipeline workers of an evaluation (this one and <see cref="ClassDatasetEvaluation"/>): a full-resolution
    /// mask can be 30 megapixels, and two finishing workers keep memory flat on any machine.
    /// </summary>
    internal static int Workers => Math.Min(2, Environment.ProcessorCount);

    /// <summary>
    /// <paramref name="loss"/> gives one image's loss from its 1 x 1 x S x S prediction and target (the CLI passes the
    /// training loss); without it the loss is NaN. Unreadable images (fatal) and non-binary masks (warnings) are returned as problems, never dropped silently.
    /// </summary>
    public static (EvaluationRecord Record, IReadOnlyList<DataProblem> Problems) Run(
        IInferenceEngine engine, IReadOnlyList<Sample> samples, int size, int batchSize, double threshold, bool originalResolution,
        Func<Tensor, Tensor, double>? loss = null, Action<int, int>? progress = null, CancellationToken cancel = default)
    {
        var metrics = new ConfusionMetrics(threshold);
        var losses = new ConcurrentDictionary<string, double>(StringComparer.Ordinal);
        var rows = new ConcurrentBag<ImageScores>();
        var problems = new ConcurrentBag<DataProblem>();

        IReadOnlyList<float[]> Predict(IReadOnlyList<(Sample Item, CachedSample Sample)> batch)
        {
            using var scope = NewDisposeScope();
            var decoded = batch.Select(b => b.Sample).ToList();
            var y = engine.Run(TensorBatches.Images(decoded));
            var masks = TensorBatches.Masks(decoded);
            metrics.Add(y, masks);
            var probs = new float[batch.Count][];
            for (int i = 0; i < batch.Count; i++)
            {
                losses[decoded[i].Id] = loss?.Invoke(y.narrow(0, i, 1), masks.narrow(0, i, 1)) ?? double.NaN;
                probs[i] = y[i, 0].contiguous().data<float>().ToArray();
            }
            return probs;
        }

        void Finish(Sample sample, CachedSample decoded, float[] prob)
        {
            if (decoded.NonBinaryMaskPixels > 0) problems.Add(DataProblem.NonBinaryMask(sample.MaskPath!, decoded.NonBinaryMaskPixels));
            int n = decoded.Size;
            var gt = new bool[n * n];
            for (int i = 0; i < gt.Length; i++) gt[i] = MaskMetrics.IsTrueLesion(decoded.Mask![i]); // after resizing, as the paper's metrics
            var at256 = MaskMetrics.Compute(MaskMetrics.Threshold(prob, threshold), gt, n, n);
            losses.TryRemove(decoded.Id, out var l);
            if (!originalResolution) { rows.Add(new ImageScores(decoded.Id, decoded.MaskWidth, decoded.MaskHeight, at256, null, l)); return; }
            var full = ImageDecoder.DecodeMaskFull(sample.MaskPath!);
            rows.Add(new ImageScores(decoded.Id, full.Width, full.Height, at256, OriginalResolution.Score(prob, n, full, threshold), l));
        }

        ImagePipeline.Run(samples, batchSize, s => ImageCache.Decode(s, size), Predict, Finish,
            (s, e) => problems.Add(DataProblem.FromMessage(s.ImagePath, e.Message)),
            d => progress?.Invoke(d, samples.Count), workers: Workers, cancel: cancel);
        return (new EvaluationRecord(metrics, rows.OrderBy(r => r.Id, StringComparer.Ordinal).ToList(), originalResolution),
                problems.OrderBy(p => p.Path, StringComparer.Ordinal).ToList());
    }
}

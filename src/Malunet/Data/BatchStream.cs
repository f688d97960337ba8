using static TorchSharp.torch;

namespace Malunet.Data;

/// <summary>A training or evaluation batch; owns its tensors.</summary>
public sealed class Batch(Tensor images, Tensor masks, IReadOnlyList<CachedSample> samples) : IDisposable
{
    /// <summary>The batch's preprocessed images, B x 3 x S x S.</summary>
    public Tensor Images { get; } = images;
    /// <summary>The batch's targets, B x 1 x S x S.</summary>
    public Tensor Masks { get; } = masks;
    /// <summary>The samples the batch was made of.</summary>
    public IReadOnlyList<CachedSample> Samples { get; } = samples;
    /// <summary>Images in the batch.</summary>
    public int Count => Samples.Count;
    /// <summary>Frees the tensors.</summary>
    public void Dispose() { Images.Dispose(); Masks.Dispose(); }
}

/// <summary>
/// Batches over cached samples, the next one built on a worker thread while the current one trains. The order of an
/// epoch and every sample's augmentation are functions of (seed, epoch, position) alone, so a run resumed at any
/// batch sees exactly the batches it would have seen.
/// </summary>
public sealed class BatchStream(IReadOnlyList<CachedSample> data, int batchSize, long seed, bool shuffle, bool augment)
{
    /// <summary>Batches in one pass over the data (the last may be smaller).</summary>
    public int BatchesPerEpoch => (data.Count + batchSize - 1) / batchSize;

    /// <summary>Sample order of an epoch.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, data.Count).ToArray();
        if (shuffle) new PythonRandom(seed * 100_003 + epoch).Shuffle(order);
        return order;
    }

    /// <summary>The augmentation of the sample at <paramref name="position"/> in <paramref name="epoch"/>.</summary>
    public AugmentationDraw DrawFor(int epoch, int position)
    {
        ulong z = (ulong)seed * 0x9E3779B97F4A7C15UL ^ (ulong)epoch * 0xBF58476D1CE4E5B9UL ^ (ulong)position * 0x94D049BB133111EBUL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL; z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL; z ^= z >> 31;
        return Augmentation.Draw(new Random((int)(z & 0x7fffffff)));
    }

    // One preprocessed sample before augmentation; a single batch is built at a time, so one buffer serves.
    private float[] scratchImage = Array.Empty<float>(), scratchMask = Array.Empty<float>();

    /// <summary>
    /// Builds a batch straight into the native memory of its tensors: no per-batch managed buffers, which the GC
    /// would otherwise let pile up on the large-object heap (measured: +8 MB resident per step).
    /// </summary>
    public Batch Build(int epoch, int[] order, int batchIndex)
    {
        int start = batchIndex * batchSize, count = Math.Min(batchSize, data.Count - start);
        var samples = Enumerable.Range(start, count).Select(p => data[order[p]]).ToList();
        if (!augment) return new Batch(TensorBatches.Images(samples), TensorBatches.Masks(samples), samples);
        int s = samples[0].Size, plane = s * s;
        if (scratchImage.Length != 3 * plane) { scratchImage = new float[3 * plane]; scratchMask = new float[plane]; }
        var images = empty(count, 3, s, s);
        var masks = empty(count, 1, s, s);
        var imageSpan = TensorBatches.FloatSpan(images);
        var maskSpan = TensorBatches.FloatSpan(masks);
        for (int i = 0; i < count; i++)
        {
            Preprocessing.Write(samples[i], scratchImage, scratchMask);
            Augmentation.Apply(scratchImage, scratchMask, imageSpan.Slice(i * 3 * plane, 3 * plane), maskSpan.Slice(i * plane, plane),
                               3, s, s, DrawFor(epoch, start + i));
        }
        return new Batch(images, masks, samples);
    }

    /// <summary>The batches of an epoch from <paramref name="startBatch"/> on, one prepared ahead in the background.</summary>
    public IEnumerable<Batch> Epoch(int epoch, int startBatch = 0)
    {
        var order = Order(epoch);
        int n = BatchesPerEpoch;
        Task<Batch>? next = startBatch < n ? Task.Run(() => Build(epoch, order, startBatch)) : null;
        try
        {
            for (int b = startBatch; b < n; b++)
            {
                var current = next!.GetAwaiter().GetResult();
                int following = b + 1;
                next = following < n ? Task.Run(() => Build(epoch, order, following)) : null;
                yield return current;
            }
        }
        finally
        {
            // An abandoned epoch (Ctrl-C, error) must not leak the batch prepared ahead.
            if (next != null) { try { next.GetAwaiter().GetResult().Dispose(); } catch { /* its error is moot now */ } }
        }
    }
}

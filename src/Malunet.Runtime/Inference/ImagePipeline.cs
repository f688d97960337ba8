using System.Threading.Channels;
using Malunet.Data;

namespace Malunet.Inference;

/// <summary>
/// The one image pipeline of <c>predict</c>, <c>evaluate</c> and <c>serve</c>: items are decoded in batches on worker
/// threads, the network runs the batches one after another on the calling thread, and each image's outputs are
/// finished (resized back, thresholded, scored, encoded) on worker threads, so decoding and encoding use every core
/// while the network works. Queues between the stages are bounded, so memory does not grow with the number of items.
/// An item whose decoding or finishing fails with bad data (or an unreadable file) is reported and the rest go on;
/// any other error stops every stage and is thrown as it was.
/// </summary>
public static class ImagePipeline
{
    /// <summary>
    /// Runs <paramref name="items"/> through the three stages. <paramref name="load"/> and <paramref name="finish"/> may
    /// run concurrently for different items; <paramref name="predict"/> runs on the calling thread, batch by batch, in
    /// item order. <paramref name="failed"/> gets each item that threw <see cref="InvalidDataException"/>,
    /// <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> in load or finish (serialised);
    /// <paramref name="progress"/> the number of items done.
    /// </summary>
    public static void Run<T>(IReadOnlyList<T> items, int batchSize, Func<T, CachedSample> load,
                              Func<IReadOnlyList<(T Item, CachedSample Sample)>, IReadOnlyList<float[]>> predict,
                              Action<T, CachedSample, float[]> finish, Action<T, Exception> failed,
                              Action<int>? progress = null, int workers = 0, CancellationToken cancel = default)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize));
        workers = workers > 0 ? workers : Environment.ProcessorCount;
        var gate = new object();
        int done = 0;
        void Done() { int d = Interlocked.Increment(ref done); if (progress != null) lock (gate) progress(d); }
        void Fail(T item, Exception e) { lock (gate) failed(item, e); Done(); }

        // Two decoded batches wait at most; the network is the slowest stage only for small images.
        var decoded = Channel.CreateBounded<List<(T, CachedSample)>>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        var outputs = Channel.CreateBounded<(T, CachedSample, float[])>(new BoundedChannelOptions(2 * batchSize) { SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);

        var decoder = Task.Run(async () =>
        {
            try
            {
                for (int start = 0; start < items.Count && !stop.IsCancellationRequested; start += batchSize)
                {
                    int n = Math.Min(batchSize, items.Count - start);
                    var batch = new (T, CachedSample)?[n];
                    Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = workers }, i =>
                    {
                        var item = items[start + i];
                        try { batch[i] = (item, load(item)); }
                        catch (Exception e) when (IsItemProblem(e)) { Fail(item, e); }
                    });
                    var ok = batch.Where(b => b != null).Select(b => b!.Value).ToList();
                    if (ok.Count > 0) await decoded.Writer.WriteAsync(ok, stop.Token);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException) { stop.Cancel(); throw; }
            finally { decoded.Writer.TryComplete(); }
        });

        var finishers = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
        {
            try
            {
                await foreach (var (item, sample, prob) in outputs.Reader.ReadAllAsync(stop.Token))
                {
                    try { finish(item, sample, prob); Done(); }
                    catch (Exception e) when (IsItemProblem(e)) { Fail(item, e); }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException) { stop.Cancel(); throw; } // nobody may wait on a dead stage
        })).ToArray();

        try
        {
            while (decoded.Reader.WaitToReadAsync(stop.Token).AsTask().GetAwaiter().GetResult())
            {
                while (decoded.Reader.TryRead(out var batch))
                {
                    var probs = predict(batch);
                    for (int i = 0; i < batch.Count; i++)
                        outputs.Writer.WriteAsync((batch[i].Item1, batch[i].Item2, probs[i]), stop.Token).AsTask().GetAwaiter().GetResult();
                }
            }
            outputs.Writer.TryComplete();
            Task.WaitAll(finishers.Append(decoder).ToArray());
        }
        catch (Exception caught)
        {
            // A network, disk or programming error in any stage: stop them all, then throw the first cause as it was
            // (not the cancellation it caused elsewhere, nor an AggregateException around it).
            stop.Cancel();
            outputs.Writer.TryComplete();
            try { Task.WaitAll(finishers.Append(decoder).ToArray()); } catch (AggregateException) { }
            var cause = finishers.Append(decoder).Where(t => t.IsFaulted).SelectMany(t => t.Exception!.Flatten().InnerExceptions)
                            .FirstOrDefault(e => e is not OperationCanceledException)
                        ?? (caught is AggregateException a ? a.Flatten().InnerExceptions.First() : caught);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(cause);
        }
    }

    private static bool IsItemProblem(Exception e) => e is InvalidDataException or IOException or UnauthorizedAccessException;
}

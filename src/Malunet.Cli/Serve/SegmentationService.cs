using Malunet.Evaluation;
using System.Diagnostics;
using System.Threading.Channels;
using Malunet.Data;
using Malunet.Inference;

namespace Malunet.Cli.Serve;

/// <summary>Where a request failed: the HTTP status and the one-line message the client receives.</summary>
public sealed class RequestProblem(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}

/// <summary>
/// What one segmented upload returns. For a multi-class network: the mask and area are the foreground's (every class
/// but 0), the probability is 1 - p(class 0), and <c>LabelsPng</c> is the class map with <c>ClassPixels</c> the
/// pixels of classes 1..K-1.
/// </summary>
public sealed record SegmentationReply(
    string File, int Width, int Height, double Threshold, long AreaPixels, BoundingBox? Box,
    byte[] MaskPng, byte[]? ProbabilityPng, IReadOnlyDictionary<string, double> TimingsMs,
    byte[]? LabelsPng = null, long[]? ClassPixels = null)
{
    public double AreaFraction => (double)AreaPixels / ((long)Width * Height);
}

/// <summary>
/// Segments uploaded images on one worker fed by a bounded queue, through the image pipeline that <c>predict</c> and
/// <c>evaluate</c> use (<see cref="ImagePipeline"/>): the requests waiting when the worker is free (up to
/// <see cref="ServeOptions.BatchSize"/>) are decoded on worker threads, run through the network as one batch, and
/// finished (resized back, measured, encoded) on worker threads. The network never runs in parallel with itself,
/// memory stays bounded, and when the queue is full a request is refused at once instead of piling up. Everything
/// stays in memory; nothing is written to disk.
/// </summary>
public sealed class SegmentationService : IDisposable
{
    private sealed record Job(byte[] Data, string Name, double Threshold, bool WantProbability, Stopwatch Clock,
                              CancellationToken Cancel, TaskCompletionSource<SegmentationReply> Done)
    {
        public readonly Dictionary<string, double> Timings = new();
    }

    private readonly Segmenter segmenter;
    private readonly ServeOptions options;
    private readonly Channel<Job> queue;
    private readonly Task worker;
    private int waiting;

    /// <summary>Serves <paramref name="segmenter"/> (not disposed here); its threshold is the default of requests that name none.</summary>
    public SegmentationService(Segmenter segmenter, ServeOptions options)
    {
        this.segmenter = segmenter;
        this.options = options;
        queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        worker = Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Requests waiting or running now.</summary>
    public int Pending => Volatile.Read(ref waiting);
    public int Capacity => options.QueueCapacity;

    /// <summary>Queues one image; a full queue is a 503 <see cref="RequestProblem"/>, bad images are 4xx.</summary>
    public Task<SegmentationReply> SegmentAsync(byte[] data, string name, double threshold, bool wantProbability, CancellationToken cancel)
    {
        var job = new Job(data, name, threshold, wantProbability, Stopwatch.StartNew(), cancel,
                          new TaskCompletionSource<SegmentationReply>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!queue.Writer.TryWrite(job))
            throw new RequestProblem(503, $"the server is busy ({options.QueueCapacity} images queued); try again shortly");
        Interlocked.Increment(ref waiting);
        return job.Done.Task;
    }

    private void Work()
    {
        var reader = queue.Reader;
        while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            // What waits now, up to one batch: a lone request is not held back to wait for company.
            var jobs = new List<Job>();
            while (jobs.Count < options.BatchSize && reader.TryRead(out var job))
            {
                if (job.Cancel.IsCancellationRequested) Complete(job, j => j.Done.TrySetCanceled(j.Cancel));
                else jobs.Add(job);
            }
            if (jobs.Count == 0) continue;
            foreach (var j in jobs) j.Timings["queue"] = j.Clock.Elapsed.TotalMilliseconds;
            try
            {
                ImagePipeline.Run(jobs, jobs.Count, Load, Predict, (job, sample, probabilities) => Complete(job, j => j.Done.TrySetResult(Finish(j, sample, probabilities))),
                    (job, e) => Complete(job, j => j.Done.TrySetException(e.InnerException as RequestProblem ?? new RequestProblem(400, e.Message))));
            }
            catch (Exception e)
            {
                // The network or a programming error: every request of the batch still waiting gets it.
                foreach (var j in jobs) Complete(j, x => x.Done.TrySetException(e));
            }
        }
    }

    /// <summary>Settles a request once (a later call for the same request does nothing).</summary>
    private void Complete(Job job, Action<Job> settle)
    {
        if (job.Done.Task.IsCompleted) return;
        settle(job);
        Interlocked.Decrement(ref waiting);
    }

    /// <summary>Decodes one upload (a worker thread); a request problem travels as the pipeline's bad-item error.</summary>
    private CachedSample Load(Job job)
    {
        var step = Stopwatch.StartNew();
        CachedSample sample;
        try
        {
            // The header first: an image over the limit is answered before anything is decoded.
            var (width, height) = ImageDecoder.ReadSize(job.Data, job.Name);
            ImageDecoder.CheckPixelLimit(job.Name, width, height, options.MaxPixels);
            sample = segmenter.Load(job.Data, job.Name);
        }
        catch (InvalidDataException e) when (e.InnerException is ImageTooLargeException)
        {
            throw new InvalidDataException("too large", new RequestProblem(413, e.Message));
        }
        lock (job.Timings) job.Timings["decode"] = step.Elapsed.TotalMilliseconds;
        return sample;
    }

    /// <summary>The network on one batch (the worker thread); each request is charged the batch's time.</summary>
    private IReadOnlyList<float[]> Predict(IReadOnlyList<(Job Job, CachedSample Sample)> batch)
    {
        var step = Stopwatch.StartNew();
        var probabilities = segmenter.Predict(batch.Select(b => b.Sample).ToList());
        foreach (var (job, _) in batch) lock (job.Timings) job.Timings["inference"] = step.Elapsed.TotalMilliseconds;
        return probabilities;
    }

    /// <summary>Brings one image's probabilities back to its size and encodes what the request asked for (a worker thread).</summary>
    private SegmentationReply Finish(Job job, CachedSample sample, float[] probabilities)
    {
        var step = Stopwatch.StartNew();
        var result = segmenter.Finish(sample, probabilities, job.Name, job.Data, job.Threshold);
        int width = result.Width, height = result.Height;
        var maskPng = ImageDecoder.EncodePng(new Image8(width, height, 1, result.Mask));
        var probabilityPng = job.WantProbability ? ImageDecoder.EncodePng(MaskOutputs.ProbabilityImage(result.Probability, width, height)) : null;
        byte[]? labelsPng = result.Labels != null ? ImageDecoder.EncodePng(new Image8(width, height, 1, result.Labels)) : null;
        long[]? classPixels = result.Labels != null ? result.ClassPixels.Skip(1).ToArray() : null;
        Dictionary<string, double> timings;
        lock (job.Timings)
        {
            job.Timings["encode"] = step.Elapsed.TotalMilliseconds;
            job.Timings["total"] = job.Clock.Elapsed.TotalMilliseconds;
            timings = new Dictionary<string, double>(job.Timings);
        }
        return new SegmentationReply(job.Name, width, height, job.Threshold, result.AreaPixels, result.BoundingBox, maskPng, probabilityPng, timings, labelsPng, classPixels);
    }

    public void Dispose()
    {
        queue.Writer.TryComplete();
        worker.Wait(TimeSpan.FromSeconds(30));
    }
}

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

/// <summary>The lesion's bounding box in original-image pixels.</summary>
public sealed record BoundingBox(int X, int Y, int Width, int Height);

/// <summary>
/// What one segmented upload returns. For a multi-class network: the mask and area are the foreground's (every class
/// but 0), the probability is 1 - p(class 0), and <c>LabelsPng</c> is the class map with <c>ClassPixels</c> the
/// pixels of classes 1..K-1.
/// </summary>
public sealed record SegmentationResult(
    string File, int Width, int Height, double Threshold, long AreaPixels, BoundingBox? Box,
    byte[] MaskPng, byte[]? ProbabilityPng, IReadOnlyDictionary<string, double> TimingsMs,
    byte[]? LabelsPng = null, long[]? ClassPixels = null)
{
    public double AreaFraction => (double)AreaPixels / ((long)Width * Height);
}

/// <summary>
/// Segments uploaded images one at a time on a single worker, fed by a bounded queue: the network never runs
/// in parallel with itself (two cores gain nothing from it, and memory stays bounded), and when the queue is
/// full a request is refused at once instead of piling up. Everything stays in memory; nothing is written to
/// disk.
/// </summary>
public sealed class SegmentationService : IDisposable
{
    private sealed record Job(byte[] Data, string Name, double Threshold, bool WantProbability, Stopwatch Clock,
                              CancellationToken Cancel, TaskCompletionSource<SegmentationResult> Done);

    private readonly ImagePredictor predictor;
    private readonly ServeOptions options;
    private readonly Channel<Job> queue;
    private readonly Task worker;
    private int waiting;

    public SegmentationService(ImagePredictor predictor, ServeOptions options)
    {
        this.predictor = predictor;
        this.options = options;
        queue = Channel.CreateBounded<Job>(new BoundedChannelOptions(options.QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        worker = Task.Factory.StartNew(Work, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Requests waiting or running now.</summary>
    public int Pending => Volatile.Read(ref waiting);
    public int Capacity => options.QueueCapacity;

    /// <summary>Queues one image; a full queue is a 503 <see cref="RequestProblem"/>, bad images are 4xx.</summary>
    public Task<SegmentationResult> SegmentAsync(byte[] data, string name, double threshold, bool wantProbability, CancellationToken cancel)
    {
        var job = new Job(data, name, threshold, wantProbability, Stopwatch.StartNew(), cancel,
                          new TaskCompletionSource<SegmentationResult>(TaskCreationOptions.RunContinuationsAsynchronously));
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
            while (reader.TryRead(out var job))
            {
                try
                {
                    if (job.Cancel.IsCancellationRequested) job.Done.TrySetCanceled(job.Cancel);
                    else job.Done.TrySetResult(Segment(job));
                }
                catch (Exception e) { job.Done.TrySetException(e); }
                finally { Interlocked.Decrement(ref waiting); }
            }
        }
    }

    private SegmentationResult Segment(Job job)
    {
        var timings = new Dictionary<string, double> { ["queue"] = job.Clock.Elapsed.TotalMilliseconds };
        var step = Stopwatch.StartNew();
        int width, height;
        CachedSample sample;
        try
        {
            (width, height) = ImageDecoder.ReadSize(job.Data, job.Name);
            if ((long)width * height > options.MaxPixels)
                throw new RequestProblem(413, $"{job.Name}: {width}x{height} is {(long)width * height:N0} pixels, more than the limit of {options.MaxPixels:N0}");
            sample = predictor.Load(job.Data, job.Name);
        }
        catch (InvalidDataException e) { throw new RequestProblem(400, e.Message); }
        timings["decode"] = Lap(step);

        var probabilities = predictor.Predict(new[] { sample })[0];
        timings["inference"] = Lap(step);

        int classes = predictor.Classes, plane = predictor.Size * predictor.Size;
        byte[]? labels = null;
        bool[] mask;
        float[] full;
        if (classes == 1)
        {
            full = ProbabilityResize.Resize(probabilities, predictor.Size, predictor.Size, width, height);
            mask = MaskMetrics.Threshold(full, job.Threshold);
        }
        else
        {
            labels = ProbabilityResize.ResizeToLabels(probabilities, classes, predictor.Size, predictor.Size, width, height);
            mask = Array.ConvertAll(labels, v => v != 0);
            var foreground = new float[plane];
            for (int i = 0; i < plane; i++) foreground[i] = 1 - probabilities[i];
            full = ProbabilityResize.Resize(foreground, predictor.Size, predictor.Size, width, height);
        }
        var (area, box) = Measure(mask, width, height);
        var maskPng = ImageDecoder.EncodePng(MaskOutputs.MaskImage(mask, width, height));
        var probabilityPng = job.WantProbability ? ImageDecoder.EncodePng(MaskOutputs.ProbabilityImage(full, width, height)) : null;
        byte[]? labelsPng = null;
        long[]? classPixels = null;
        if (labels != null)
        {
            labelsPng = ImageDecoder.EncodePng(new Image8(width, height, 1, labels));
            classPixels = new long[classes - 1];
            foreach (var v in labels) if (v != 0) classPixels[v - 1]++;
        }
        timings["encode"] = Lap(step);
        timings["total"] = job.Clock.Elapsed.TotalMilliseconds;
        return new SegmentationResult(job.Name, width, height, job.Threshold, area, box, maskPng, probabilityPng, timings, labelsPng, classPixels);
    }

    private static double Lap(Stopwatch s)
    {
        var ms = s.Elapsed.TotalMilliseconds;
        s.Restart();
        return ms;
    }

    /// <summary>Lesion area in pixels and the bounding box of the lesion pixels (null when there are none).</summary>
    public static (long Area, BoundingBox? Box) Measure(bool[] mask, int width, int height)
    {
        long area = 0;
        int x0 = width, y0 = height, x1 = -1, y1 = -1;
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
        {
            if (!mask[y * width + x]) continue;
            area++;
            if (x < x0) x0 = x;
            if (x > x1) x1 = x;
            if (y < y0) y0 = y;
            if (y > y1) y1 = y;
        }
        return (area, area == 0 ? null : new BoundingBox(x0, y0, x1 - x0 + 1, y1 - y0 + 1));
    }

    public void Dispose()
    {
        queue.Writer.TryComplete();
        worker.Wait(TimeSpan.FromSeconds(30));
    }
}

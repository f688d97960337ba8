using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Malunet.Inference;

/// <summary>
/// An exported ONNX model run by ONNX Runtime (CPU execution provider). The threads are spent as several sessions of
/// few threads each, every one running its share of a batch's images side by side, rather than one session whose
/// operators each fan out over all threads: some of ONNX Runtime's CPU kernels are single-threaded
/// (InstanceNormalization, which carries every GroupNorm), and its pool threads spin between operators.
/// </summary>
public sealed class OnnxEngine : IInferenceEngine
{
    private readonly InferenceSession[] sessions;
    private readonly string input, output;
    private readonly RunOptions runOptions = new();

    /// <summary>Opens the ONNX file at <paramref name="path"/> with <paramref name="threads"/> CPU threads (default: every core) and runs ONNX Runtime's known answers once per process.</summary>
    public OnnxEngine(string path, int? threads = null) : this(path, threads, verify: true) { }

    /// <summary>A session on a model held in memory (e.g. the Malunet package's <c>OnnxExporter.ToBytes</c>); nothing touches the disk.</summary>
    public OnnxEngine(byte[] model, string name, int? threads = null)
        : this(name, o => new InferenceSession(model, o), threads, () => KnownAnswers.IsBundledOnnx(model)) { }

    /// <summary>As the public constructor; <paramref name="verify"/> false only for the known-answer check itself.</summary>
    internal OnnxEngine(string path, int? threads, bool verify)
        : this(File.Exists(path) ? path : throw new FileNotFoundException($"{path}: no such ONNX file"), o => new InferenceSession(path, o), threads,
               verify ? () => KnownAnswers.IsBundledOnnx(File.ReadAllBytes(path)) : null) { }

    /// <summary>
    /// Opening one runs ONNX Runtime's known answers (<see cref="KnownAnswers.EnsureOnnx"/>, once per process), through
    /// this engine's own sessions when <paramref name="isBundled"/> says it runs the bundled export, else through a
    /// session of its own; null only for that session.
    /// </summary>
    private OnnxEngine(string name, Func<SessionOptions, InferenceSession> open, int? threads, Func<bool>? isBundled)
    {
        var (count, threadsEach) = SessionLayout(threads ?? Environment.ProcessorCount);
        // Extended, not "all": the layout optimisations of "all" (NCHWc convolutions, with reorders around every
        // GroupNorm) bring nothing to this small network and cost 150 ms more at session creation (236-260 against
        // 394-419 ms; 9.0-9.8 against 9.9-10.4 ms per image at batch 8 on 2 threads, BENCHMARKS.md).
        InferenceSession Open()
        {
            using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, IntraOpNumThreads = threadsEach };
            try { return open(options); }
            catch (OnnxRuntimeException e) { throw new InvalidDataException($"{name}: not a loadable ONNX model ({e.Message.Split('\n')[0]})"); }
        }
        // The sessions are built side by side: building one (graph optimisation) is single-threaded work.
        sessions = count == 1 ? new[] { Open() } : Task.WhenAll(Enumerable.Range(0, count).Select(_ => Task.Run(Open))).GetAwaiter().GetResult();
        var session = sessions[0];
        input = session.InputMetadata.Keys.First();
        output = session.OutputMetadata.Keys.First();
        InputShape = session.InputMetadata[input].Dimensions;
        var outputShape = session.OutputMetadata[output].Dimensions;
        Classes = outputShape.Length == 4 && outputShape[1] > 0 ? outputShape[1] : 1;
        if (isBundled == null) return;
        try { KnownAnswers.EnsureOnnx(() => isBundled() ? this : null); }
        catch { Dispose(); throw; }
    }

    /// <summary>
    /// How <paramref name="threads"/> are spent: up to four sessions of one thread each, then four sessions sharing
    /// the threads. On 2 cores two one-thread sessions ran batches of 8 at 8.2-8.4 ms per image against 10.0-10.5
    /// for one session of two threads (BENCHMARKS.md); more cores were not measured.
    /// </summary>
    public static (int Sessions, int ThreadsEach) SessionLayout(int threads)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), $"threads must be at least 1, got {threads}");
        int count = Math.Min(threads, 4);
        return (count, threads / count);
    }

    /// <summary>The sessions that share a batch.</summary>
    public int Sessions => sessions.Length;

    /// <inheritdoc/>
    public int Classes { get; }

    /// <summary>The model's input shape (-1 for the dynamic batch).</summary>
    public int[] InputShape { get; }
    /// <inheritdoc/>
    public string Name => "onnx";

    /// <summary>The graph's fixed input height (our exports fix it to the size the weights were trained at).</summary>
    public int InputSize => InputShape.Length == 4 && InputShape[2] > 0 ? InputShape[2] : Models.NetworkInput.DefaultSize;

    /// <summary>The model options recorded by our exporter, if any.</summary>
    public string? ModelOptionsJson => sessions[0].ModelMetadata.CustomMetadataMap.TryGetValue("model_options", out var v) ? v : null;

    /// <summary>
    /// Runs the batch's images, split in consecutive shares over the sessions (each share copied into ONNX Runtime's memory); each
    /// share's result is copied once into <paramref name="probabilities"/>. A share's images get the bits one
    /// session gives that share; a share of one image may differ from the whole batch in the last bits, as any batch
    /// of one does (ONNX Runtime's matrix-vector kernels add in another order).
    /// </summary>
    public long[] Run(float[] batch, long[] shape, float[] probabilities)
    {
        if (batch.LongLength < shape.Aggregate(1L, (a, b) => a * b)) throw new ArgumentException($"a batch of shape [{string.Join(", ", shape)}] needs more than {batch.Length} values");
        long[] result = [];
        RunShares(batch, shape, outShape =>
        {
            result = outShape;
            long size = outShape.Aggregate(1L, (a, b) => a * b);
            if (size > probabilities.LongLength) throw new ArgumentException($"the probabilities [{string.Join(", ", outShape)}] need more than {probabilities.Length} values");
            return probabilities.AsSpan(0, (int)size);
        });
        return result;
    }

    private delegate Span<float> OutputBuffer(long[] shape);

    private void RunShares(float[] batch, long[] shape, OutputBuffer outputFor)
    {
        for (int i = 1; i < shape.Length && i < InputShape.Length; i++)
            if (InputShape[i] > 0 && InputShape[i] != shape[i])
                throw new ArgumentException($"the ONNX model takes [N, {string.Join(", ", InputShape.Skip(1))}] inputs, got [{string.Join(", ", shape)}]");
        int n = (int)shape[0], shares = Math.Max(1, Math.Min(sessions.Length, n));
        long imageFloats = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        var results = new IDisposableReadOnlyCollection<OrtValue>[shares];
        try
        {
            void RunShare(int k)
            {
                int first = ShareStart(k, n, shares), count = ShareStart(k + 1, n, shares) - first;
                var shareShape = (long[])shape.Clone();
                shareShape[0] = count;
                // Copied into ONNX Runtime's own (64-byte aligned) memory: its kernels take other summation orders on
                // differently aligned input, so a managed array read in place gave an image bits that depended on
                // where the garbage collector had put the array.
                using var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, shareShape);
                batch.AsSpan((int)(first * imageFloats), (int)(count * imageFloats)).CopyTo(value.GetTensorMutableDataAsSpan<float>());
                results[k] = sessions[k].Run(runOptions, new[] { input }, new[] { value }, new[] { output });
            }
            if (shares == 1) RunShare(0);
            else
            {
                // A failing share throws as a single session would, not wrapped in an AggregateException.
                try { Parallel.For(0, shares, new ParallelOptions { MaxDegreeOfParallelism = shares }, RunShare); }
                catch (AggregateException e) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.Flatten().InnerExceptions[0]); }
            }
            var outShape = results[0][0].GetTensorTypeAndShape().Shape;
            outShape[0] = n;
            var target = outputFor(outShape);
            for (int k = 0, offset = 0; k < shares; k++)
            {
                var part = results[k][0].GetTensorDataAsSpan<float>();
                part.CopyTo(target[offset..]);
                offset += part.Length;
            }
        }
        finally
        {
            foreach (var r in results) r?.Dispose();
        }
    }

    /// <summary>The first image of share <paramref name="k"/> when <paramref name="n"/> images are cut into
    /// <paramref name="shares"/> consecutive shares whose sizes differ by at most one.</summary>
    private static int ShareStart(int k, int n, int shares) => (int)((long)k * n / shares);

    /// <summary>Closes the sessions.</summary>
    public void Dispose() { runOptions.Dispose(); foreach (var s in sessions) s.Dispose(); }
}

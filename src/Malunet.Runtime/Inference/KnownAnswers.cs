using System.Diagnostics;
using Malunet.Data;
using Malunet.Interop;
using Malunet.Models;
using Malunet.Native;

namespace Malunet.Inference;

/// <summary>The engine computed a known answer wrong on this processor: no network output of it may be used.</summary>
public sealed class KnownAnswerException(string message) : Exception(message);

/// <summary>One known answer run through one engine: how far the output was from the answer, and how long it took.</summary>
public sealed record KnownAnswerResult(string Engine, string Model, int Batch, int Size, double MaxAbsDiff, TimeSpan Elapsed)
{
    /// <summary>Within <see cref="KnownAnswers.Tolerance"/> (a NaN never is).</summary>
    public bool Passed => MaxAbsDiff <= KnownAnswers.Tolerance;

    /// <summary>One line for doctor and the error message.</summary>
    public override string ToString() =>
        $"{Engine} engine, {Model} batch {Batch} at {Size}x{Size}: max |diff| {MaxAbsDiff:E2} ({(Passed ? "ok" : $"over {KnownAnswers.Tolerance:E0}")}, {Elapsed.TotalMilliseconds:F0} ms)";
}

/// <summary>
/// The known-answer check that makes a wrong network impossible to use silently. Before a process first runs a
/// network through an engine, bundled weights compute a fixed batch of two images through that engine (ONNX Runtime:
/// MALUNet's ONNX export; the torch engine of the Malunet package: MALUNet's, or EGE-UNet's for EGE-UNet networks), and the outputs
/// must be within 1e-4 of the answers shipped in <c>weights/known-answers.safetensors</c>, else
/// <see cref="KnownAnswerException"/>. <c>malunet doctor</c> runs every answer. The answers were computed
/// in float64 (libtorch's double kernels, which never go through oneDNN or the float vector kernels in question),
/// and a test recomputes them from the shipped weights; the golden tests show that the float64 network equals the
/// official code. The input is generated (<see cref="Input"/>), so only the answers ship: MALUNet's whole output at 64x64, and every fourth row and column at 256x256 (EGE-UNet,
/// whose bundled weights answer nothing but 0 at smaller sizes, and MALUNet's ONNX export, fixed to 256x256).
/// </summary>
public static class KnownAnswers
{
    /// <summary>The largest difference from a known answer that is accepted (float32 rounding is about 1e-6 here).</summary>
    public const double Tolerance = 1e-4;

    /// <summary>The file of the answers, beside the bundled weights.</summary>
    public const string FileName = "known-answers.safetensors";

    /// <summary>Images in each known-answer batch: several images in a batch take kernels that one alone may not.</summary>
    public const int Batch = 2;

    /// <summary>The answers ONNX Runtime is checked on: MALUNet's bundled export, whose input size is fixed.</summary>
    public static readonly (string Model, int Size)[] OnnxCases = [("malunet", NetworkInput.DefaultSize)];

    /// <summary>Answers at 256x256 keep every fourth row and column (16 KB an image instead of 256 KB).</summary>
    public const int LargeStride = 4;

    /// <summary>The stride an answer at <paramref name="size"/> is kept at: the whole output up to 64x64.</summary>
    public static int StrideFor(int size) => size > 64 ? LargeStride : 1;

    private static readonly object gate = new();
    private static readonly Dictionary<string, KnownAnswerResult[]> passed = new();

    /// <summary>The tensor name of one answer in the shipped file.</summary>
    public static string AnswerName(string model, int size) => $"{model}.{size}";

    /// <summary>
    /// The known-answer batch (<see cref="Batch"/> x 3 x S x S, 0..255 as the network takes images), preprocessed as
    /// every image is: each image a dark, soft-edged ellipse (a lesion) on a skin tone, with a fixed xorshift noise,
    /// so that the trained networks answer with probabilities between 0 and 1 over much of the image, where a wrong
    /// kernel shows. Integer and IEEE double arithmetic only: the same bytes on every machine.
    /// </summary>
    public static float[] Input(int size)
    {
        int image = 3 * size * size;
        var x = new float[Batch * image];
        uint state = 0x9E3779B9u;
        var hwc = new byte[image];
        const int noise = 40;
        for (int b = 0; b < Batch; b++)
        {
            double cx = size * (0.45 + 0.1 * b), cy = size * (0.5 - 0.05 * b), rx = size * (0.22 + 0.06 * b), ry = size * (0.3 - 0.04 * b);
            for (int py = 0; py < size; py++)
                for (int px = 0; px < size; px++)
                {
                    double dx = (px - cx) / rx, dy = (py - cy) / ry, d = dx * dx + dy * dy;
                    double lesion = d < 0.6 ? 1 : d > 1.4 ? 0 : (1.4 - d) / 0.8;
                    ReadOnlySpan<double> skin = [205, 160, 140], dark = [120, 75, 60];
                    for (int c = 0; c < 3; c++)
                    {
                        state ^= state << 13; state ^= state >> 17; state ^= state << 5;
                        int v = (int)(skin[c] + (dark[c] - skin[c]) * lesion) + (int)(state >> 24) * 2 * noise / 255 - noise;
                        hwc[(py * size + px) * 3 + c] = (byte)Math.Clamp(v, 0, 255);
                    }
                }
            Preprocessing.ImageToInput(hwc, size, size, x.AsSpan(b * image, image));
        }
        return x;
    }

    /// <summary>The input's shape: <see cref="Batch"/> x 3 x S x S.</summary>
    public static long[] InputShape(int size) => [Batch, 3, size, size];

    /// <summary>The shipped answer for (model, size): N x 1 x S/stride x S/stride values and the stride (null if absent).</summary>
    public static (long[] Shape, float[] Values, int Stride)? Answer(string model, int size)
    {
        var path = BundledWeights.Locate(FileName) ?? throw new KnownAnswerException(
            $"{FileName} is missing beside the program and in weights/: the known-answer check cannot run, so no network may");
        return SafetensorsFile.ReadFloat32(path).TryGetValue(AnswerName(model, size), out var a) ? (a.Shape, a.Values, size / (int)a.Shape[2]) : null;
    }

    /// <summary>
    /// Runs the ONNX Runtime cases through <paramref name="bundled"/> (an engine on the bundled export: all its
    /// sessions take part) or, without one, through one session of one thread, the kind <see cref="OnnxEngine"/>
    /// opens. On managed memory: the check loads no libtorch.
    /// </summary>
    public static KnownAnswerResult[] RunOnnx(OnnxEngine? bundled = null) =>
        OnnxCases.Select(c => Measure("onnx", c.Model, c.Size, (x, shape) =>
        {
            var y = new float[x.Length / 3];
            if (bundled != null) bundled.Run(x, shape, y);
            else
            {
                using var engine = new OnnxEngine(BundledWeights.FindOnnx(c.Model) ?? throw new KnownAnswerException(
                    $"the bundled {c.Model} ONNX export is missing: the known-answer check cannot run, so no network may"), threads: 1, verify: false);
                engine.Run(x, shape, y);
            }
            return y;
        })).ToArray();

    /// <summary>
    /// Once per process: ONNX Runtime's answers, or <see cref="KnownAnswerException"/>. <paramref name="bundled"/>
    /// gives the engine being opened when it runs the bundled export itself (no second session is then opened); it is
    /// asked only while the check has not passed (it compares the model with the bundled file).
    /// </summary>
    public static void EnsureOnnx(Func<OnnxEngine?>? bundled = null) => Ensure("onnx", () => RunOnnx(bundled?.Invoke()));

    /// <summary>Whether <paramref name="onnxModel"/> (a file's bytes) is the bundled export of one of the ONNX cases.</summary>
    public static bool IsBundledOnnx(ReadOnlySpan<byte> onnxModel)
    {
        foreach (var (model, _) in OnnxCases)
            if (BundledWeights.FindOnnx(model) is { } path && new FileInfo(path).Length == onnxModel.Length && onnxModel.SequenceEqual(File.ReadAllBytes(path)))
                return true;
        return false;
    }

    /// <summary>
    /// Runs <paramref name="run"/> once per process and <paramref name="key"/> until it passes; a failure is a
    /// <see cref="KnownAnswerException"/> whose message ends with <paramref name="engineState"/> (what of the engine's
    /// set-up matters, e.g. oneDNN's ISA cap).
    /// </summary>
    public static void Ensure(string key, Func<KnownAnswerResult[]> run, string? engineState = null)
    {
        lock (gate)
        {
            if (passed.ContainsKey(key)) return;
            var results = run();
            var failed = results.FirstOrDefault(r => !r.Passed);
            if (failed != null)
                throw new KnownAnswerException(
                    $"the {failed.Engine} engine computes wrong outputs on this processor, so it is not used: {failed.Model} is " +
                    $"{failed.MaxAbsDiff:E2} from its known answer (limit {Tolerance:E0}); processor {CpuFeatures.Summary}" +
                    (engineState != null ? $"; {engineState}" : "") + ". Run 'malunet doctor' and report it.");
            passed[key] = results;
        }
    }

    /// <summary>The largest difference between an N x 1 x S x S output and an answer kept at every stride-th pixel.</summary>
    public static double MaxDifference(float[] output, int size, long[] answerShape, float[] answer, int stride)
    {
        int n = (int)answerShape[0], h = (int)answerShape[2], w = (int)answerShape[3];
        if (answerShape[1] != 1 || (long)n * size * size != output.Length || h * stride != size || w * stride != size)
            return double.PositiveInfinity;
        double max = 0;
        for (int b = 0; b < n; b++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    double d = Math.Abs((double)output[(b * size + y * stride) * size + x * stride] - answer[(b * h + y) * w + x]);
                    if (!(d <= max)) max = double.IsNaN(d) ? double.PositiveInfinity : d;
                }
        return max;
    }

    /// <summary>
    /// Runs <paramref name="forward"/> (an engine's forward pass on an N x 3 x S x S batch) on the known-answer images of
    /// <paramref name="model"/> at <paramref name="size"/> and compares its output with the stored answers.
    /// </summary>
    public static KnownAnswerResult Measure(string engine, string model, int size, Func<float[], long[], float[]> forward)
    {
        var clock = Stopwatch.StartNew();
        var output = forward(Input(size), InputShape(size));
        var (shape, answer, stride) = Answer(model, size) ?? throw new KnownAnswerException(
            $"{FileName} has no answer for {model} at {size}x{size}: the known-answer check cannot run, so no network may");
        return new KnownAnswerResult(engine, model, Batch, size, MaxDifference(output, size, shape, answer, stride), clock.Elapsed);
    }
}

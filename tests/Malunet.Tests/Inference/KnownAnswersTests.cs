using Malunet.Inference;
using Malunet.Interop;
using Malunet.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Tests.Inference;

/// <summary>
/// The shipped known answers (weights/known-answers.safetensors) are the float64 outputs of the bundled weights,
/// the float64 network is the official one, and both engines pass them here. MALUNET_WRITE_KNOWN_ANSWERS=1 rewrites
/// the file from the float64 outputs (after retraining the bundled weights).
/// </summary>
public class KnownAnswersTests
{
    /// <summary>The bundled <paramref name="model"/> in float64 on the CPU: libtorch's double kernels, no oneDNN.</summary>
    private static float[] Float64Output(string model, int size, int stride)
    {
        using var scope = NewDisposeScope();
        using var net = ModelCheckpoint.Load(BundledWeights.Find(model)!);
        net.to(float64);
        net.eval();
        using var _ = no_grad();
        var y = net.call(tensor(KnownAnswers.Input(size), KnownAnswers.InputShape(size)).to(float64));
        if (stride > 1) y = y[.., .., TensorIndex.Slice(null, null, stride), TensorIndex.Slice(null, null, stride)];
        return y.to(float32).contiguous().data<float>().ToArray();
    }

    private static IEnumerable<(string Model, int Size, int Stride)> Cases() =>
        TorchKnownAnswers.Cases.Concat(KnownAnswers.OnnxCases).Distinct().Select(c => (c.Model, c.Size, KnownAnswers.StrideFor(c.Size)));

    [Fact]
    public void Shipped_answers_are_the_float64_outputs_of_the_bundled_weights()
    {
        if (Environment.GetEnvironmentVariable("MALUNET_WRITE_KNOWN_ANSWERS") == "1")
        {
            using var scope = NewDisposeScope();
            var answers = Cases().Select(c =>
            {
                int side = c.Size / c.Stride;
                return (KnownAnswers.AnswerName(c.Model, c.Size), tensor(Float64Output(c.Model, c.Size, c.Stride), new long[] { KnownAnswers.Batch, 1, side, side }));
            }).ToList();
            Safetensors.Write(Path.Combine(SharedData.Repository, "weights", KnownAnswers.FileName), answers,
                new Dictionary<string, string> { ["made_by"] = "KnownAnswersTests: the bundled weights in float64 on the CPU" });
            throw new InvalidOperationException("known answers rewritten: rebuild, then run the tests without MALUNET_WRITE_KNOWN_ANSWERS");
        }
        foreach (var (model, size, stride) in Cases())
        {
            var (shape, answer, storedStride) = KnownAnswers.Answer(model, size)!.Value;
            Assert.Equal(stride, storedStride);
            var output = Float64Output(model, size, 1);
            double diff = KnownAnswers.MaxDifference(output, size, shape, answer, stride);
            // Both are float64 results rounded to float32: equal but for libtorch's double summation order.
            Assert.True(diff <= 1e-6, $"{model} at {size}: the shipped answer is {diff:E2} from the float64 output");
            // An answer that says nothing (a saturated sigmoid) would not catch a wrong kernel: many values lie in between.
            Assert.True(answer.Count(v => v > 0.01 && v < 0.99) > answer.Length / 20, $"{model} at {size}: the answer is mostly saturated");
        }
    }

    [Fact]
    public void The_float64_network_equals_the_official_output()
    {
        using var scope = NewDisposeScope();
        var io = SharedData.ReadGroup("io");
        var model = Malunet.Tests.Models.MalunetGoldenTests.LoadFixtureModel();
        model.to(float64);
        using var _ = no_grad();
        double diff = TensorAssert.MaxAbsDiff(model.call(io["input"].to(float64)).to(float32), io["output"]);
        // The fixture's README: float32 against float64 in the official code 3.6e-6.
        Assert.True(diff <= 1e-5, $"float64 output max |diff| {diff:E3}");
    }

    [Fact]
    public void Both_engines_compute_their_known_answers_on_this_processor()
    {
        var results = TorchKnownAnswers.Run(CPU).Concat(KnownAnswers.RunOnnx()).ToList();
        Assert.Equal(TorchKnownAnswers.Cases.Length + KnownAnswers.OnnxCases.Length, results.Count);
        foreach (var r in results) Assert.True(r.Passed, r.ToString());
    }

    [Fact]
    public void An_output_off_by_more_than_the_tolerance_or_NaN_fails()
    {
        var (shape, answer, stride) = KnownAnswers.Answer("malunet", 256)!.Value;
        int size = 256;
        var output = new float[KnownAnswers.Batch * size * size];
        int side = size / stride;
        for (int b = 0; b < KnownAnswers.Batch; b++)
            for (int y = 0; y < side; y++)
                for (int x = 0; x < side; x++)
                    output[(b * size + y * stride) * size + x * stride] = answer[(b * side + y) * side + x];
        Assert.Equal(0, KnownAnswers.MaxDifference(output, size, shape, answer, stride));
        output[(size + 8) * size + 12] += 2e-4f; // image 1, row 8, column 12: a sampled pixel
        Assert.Equal(2e-4, KnownAnswers.MaxDifference(output, size, shape, answer, stride), 1e-6);
        output[0] = float.NaN;
        Assert.Equal(double.PositiveInfinity, KnownAnswers.MaxDifference(output, size, shape, answer, stride));
        Assert.Equal(double.PositiveInfinity, KnownAnswers.MaxDifference(output[..^1], size, shape, answer, stride));
    }
}

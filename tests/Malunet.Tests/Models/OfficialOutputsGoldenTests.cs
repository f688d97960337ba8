using Malunet.Inference;
using Malunet.Layers;
using Malunet.Interop;
using Malunet.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Tests.Models;

/// <summary>
/// The official outputs of four option sets (../shared/fixtures/malunet-official/seed0_default and the three of
/// malunet-official-configs) through both engines at batch sizes 1, 2, 3 and 8: every row of every batch within 2e-5
/// of the official output (3e-5: see <see cref="Tolerance"/>), and each image alone equal to its row of the batch
/// within the same bound. A batch of 8 cycles the fixture's images. These are the tests that would have caught libtorch's wrong AVX-512 convolutions: they failed by 0.2-0.9.
/// </summary>
public class OfficialOutputsGoldenTests
{
    /// <summary>
    /// float32 rounding through 40 layers, ours and the official code's: measured at most 2.0e-5 (seed3, both engines,
    /// on AVX-512 with oneDNN capped at AVX2 and on AVX2), of which the official float32 output is 3e-6 from the float64
    /// network and ours 1.9e-5 (the same order as the official activations' own errors, layer by layer). The
    /// fixture README says "within about 2e-5"; the seed0 golden test has used 3e-5 from the start.
    /// </summary>
    private const double Tolerance = 3e-5;

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var fixture in new[] { "seed0_default", "seed3_default_b3", "seed4_wide_b3", "seed5_conv_nobridge_b3" })
            foreach (var engine in new[] { "torch", "onnx" })
                data.Add(fixture, engine);
        return data;
    }

    /// <summary>The model, input and official output of a fixture.</summary>
    internal static (SegmentationModel Model, Tensor Input, Tensor Output) Load(string fixture)
    {
        if (fixture == "seed0_default")
        {
            var io = SharedData.ReadGroup("io");
            return (MalunetGoldenTests.LoadFixtureModel(), io["input"], io["output"]);
        }
        var dir = Path.Combine(SharedData.Root, "fixtures", "malunet-official-configs", fixture);
        var options = fixture switch
        {
            "seed4_wide_b3" => new ModelOptions { CList = [16, 24, 32, 48, 64, 128] },
            "seed5_conv_nobridge_b3" => new ModelOptions { SplitAtt = SplitAttention.Conv, Bridge = false },
            _ => new ModelOptions(),
        };
        var model = ModelCheckpoint.Load(Path.Combine(dir, "weights.pth"), options);
        return (model, NpyTensors.Read(Path.Combine(dir, "input.npy")), NpyTensors.Read(Path.Combine(dir, "output.npy")));
    }

    private static IInferenceEngine Engine(SegmentationModel model, string engine) =>
        engine == "onnx" ? new OnnxEngine(OnnxExporter.ToBytes(model), model.Options.Model) : new TorchEngine(model, CPU);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_batch_size_matches_official_and_each_image_alone_equals_its_row(string fixture, string engineName)
    {
        using var scope = NewDisposeScope();
        var (model, input, official) = Load(fixture);
        using var engine = Engine(model, engineName);
        int n = (int)input.shape[0];
        var alone = Enumerable.Range(0, n).Select(i => engine.Run(input[TensorIndex.Slice(i, i + 1)])).ToArray();
        var failures = new List<string>();
        double worst = 0;
        foreach (var batch in new[] { 1, 2, 3, 8 })
        {
            for (int start = 0; start < (batch == 1 ? n : 1); start++)
            {
                var rows = Enumerable.Range(start, batch).Select(i => i % n).ToArray();
                var y = engine.Run(input[tensor(rows.Select(r => (long)r).ToArray())]);
                for (int k = 0; k < rows.Length; k++)
                {
                    double diff = TensorAssert.MaxAbsDiff(y[k], official[rows[k]]);
                    worst = Math.Max(worst, diff);
                    if (diff > Tolerance) failures.Add($"batch {batch}, row {k} (image {rows[k]}): {diff:E2} from the official output");
                    double self = TensorAssert.MaxAbsDiff(y[k], alone[rows[k]][0]);
                    if (self > Tolerance) failures.Add($"batch {batch}, row {k} (image {rows[k]}): {self:E2} from the same image alone");
                }
            }
        }
        Assert.True(failures.Count == 0, $"{fixture}, {engineName} engine (worst {worst:E2}):\n" + string.Join("\n", failures));
        Console.WriteLine($"{fixture}, {engineName} engine: worst {worst:E3} from the official output at batch sizes 1, 2, 3 and 8");
    }
}

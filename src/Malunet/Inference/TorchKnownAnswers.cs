using Malunet.Models;
using Malunet.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Inference;

/// <summary>
/// The torch engine's share of the known-answer check (<see cref="KnownAnswers"/>): MALUNet's bundled weights at
/// 64x64, and EGE-UNet's at 256x256 for EGE-UNet networks, through the very call <see cref="TorchEngine"/> makes.
/// A failure names oneDNN's ISA cap, the setting that matters on processors with AVX-512.
/// </summary>
public static class TorchKnownAnswers
{
    /// <summary>The answers the torch engine is checked on: (model, input size).</summary>
    public static readonly (string Model, int Size)[] Cases = [("malunet", 64), ("egeunet", SegmentationModel.DefaultInputSize)];

    /// <summary>The torch engine's known answer for a network of <paramref name="architecture"/>: EGE-UNet's own for
    /// EGE-UNet, MALUNet's for every other (their layers are MALUNet's or plain convolutions).</summary>
    public static (string Model, int Size) CaseFor(string architecture) => Cases.FirstOrDefault(c => c.Model == architecture, Cases[0]);

    /// <summary>Runs torch cases on <paramref name="device"/> through the same call as <see cref="TorchEngine"/> (all of them by default).</summary>
    public static KnownAnswerResult[] Run(Device device, IEnumerable<(string Model, int Size)>? cases = null) =>
        (cases ?? Cases).Select(c => KnownAnswers.Measure("torch", c.Model, c.Size, (x, shape) =>
        {
            using var scope = NewDisposeScope();
            using var model = ModelCheckpoint.Load(BundledWeights.Find(c.Model) ?? throw new KnownAnswerException(
                $"the bundled {c.Model} weights are missing: the known-answer check cannot run, so no network may"));
            model.to(device);
            model.eval();
            return TorchEngine.Forward(model, device, tensor(x, shape)).data<float>().ToArray();
        })).ToArray();

    /// <summary>Once per process, device and answer: the torch engine's answer for <paramref name="architecture"/>, or <see cref="KnownAnswerException"/>.</summary>
    public static void Ensure(Device device, string architecture)
    {
        TorchRuntime.EnsureLoaded();
        var c = CaseFor(architecture);
        KnownAnswers.Ensure($"torch:{device}:{c.Model}", () => Run(device, [c]), $"oneDNN ISA cap {OneDnnIsa.Effective ?? "none"}");
    }
}

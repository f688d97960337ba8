using Malunet.Models;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Malunet.Inference;

/// <summary>
/// The TorchSharp network itself (eval mode, no gradients). Opening one runs the torch engine's known answers on the
/// device first (<see cref="TorchKnownAnswers.Ensure"/>, once per process): a processor on which libtorch computes
/// them wrong gets a <see cref="KnownAnswerException"/>, never an output.
/// </summary>
public sealed class TorchEngine : IInferenceEngine
{
    private readonly SegmentationModel model;
    private readonly Device device;

    /// <summary>The network <paramref name="model"/> on <paramref name="device"/> (moved there, set to eval mode), after the torch engine's known answers on that device.</summary>
    public TorchEngine(SegmentationModel model, Device device)
    {
        TorchKnownAnswers.Ensure(device, model.Options.Model);
        this.model = model;
        this.device = device;
        model.to(device);
        model.eval();
    }

    /// <inheritdoc/>
    public string Name => "torch";
    /// <inheritdoc/>
    public int InputSize => model.InputSize;
    /// <inheritdoc/>
    public int Classes => model.Options.NumClasses;
    /// <summary>The probabilities of a batch (any device or type; moved to the device), on the CPU.</summary>
    public Tensor Run(Tensor batch) => Forward(model, device, batch);

    /// <inheritdoc/>
    public long[] Run(float[] batch, long[] shape, float[] probabilities)
    {
        using var scope = NewDisposeScope();
        var x = empty(shape, float32);
        batch.AsSpan(0, (int)x.numel()).CopyTo(Data.TensorBatches.FloatSpan(x));
        var y = Run(x);
        Data.TensorBatches.FloatSpan(y).CopyTo(probabilities);
        return y.shape;
    }

    /// <summary>The engine's one call: <paramref name="model"/> (on <paramref name="device"/>, in eval mode) without gradients, the result on the CPU.</summary>
    internal static Tensor Forward(SegmentationModel model, Device device, Tensor batch)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return model.call(batch.to(device)).cpu().MoveToOuterDisposeScope();
    }

    /// <summary>Nothing to release: the model belongs to the caller.</summary>
    public void Dispose() { }
}

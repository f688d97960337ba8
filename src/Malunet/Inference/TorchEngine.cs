using Malunet.Models;
using TorchSharp;
using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Malunet.Inference;

/// <summary>The TorchSharp network itself (eval mode, no gradients).</summary>
public sealed class TorchEngine : IInferenceEngine
{
    private readonly SegmentationModel model;
    private readonly Device device;
    public TorchEngine(SegmentationModel model, Device device) { this.model = model; this.device = device; model.to(device); model.eval(); }
    public string Name => "torch";
    public int InputSize => model.InputSize;
    public int Classes => model.Options.NumClasses;
    public Tensor Run(Tensor batch)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        return model.call(batch.to(device)).cpu().MoveToOuterDisposeScope();
    }
    public void Dispose() { }
}

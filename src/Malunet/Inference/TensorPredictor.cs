using Malunet.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Inference;

/// <summary>
/// Runs a network over an N x C x H x W float tensor in batches (eval mode, no gradients, each batch in its own
/// dispose scope) and returns the N x classes x H x W probabilities on the CPU.
/// </summary>
public sealed class TensorPredictor
{
    private readonly SegmentationModel model;
    private readonly Device device;
    public int BatchSize { get; }

    public TensorPredictor(SegmentationModel model, Device? device = null, int batchSize = 8)
    {
        if (batchSize < 1) throw new ArgumentException($"batch size must be at least 1, got {batchSize}");
        this.model = model;
        this.device = device ?? CPU;
        BatchSize = batchSize;
        model.to(this.device);
        model.eval();
    }

    public Tensor Predict(Tensor input, Action<int, int>? progress = null)
    {
        model.CheckInput(input);
        long n = input.shape[0];
        var outputs = new List<Tensor>();
        using (no_grad())
        {
            for (long start = 0; start < n; start += BatchSize)
            {
                using var scope = NewDisposeScope();
                long end = Math.Min(n, start + BatchSize);
                var batch = input.narrow(0, start, end - start).to(float32).to(device);
                outputs.Add(model.call(batch).cpu().MoveToOuterDisposeScope());
                progress?.Invoke((int)end, (int)n);
            }
        }
        var result = torch.cat(outputs, 0);
        foreach (var o in outputs) o.Dispose();
        return result;
    }
}

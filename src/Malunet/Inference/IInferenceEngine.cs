using static TorchSharp.torch;
using Tensor = TorchSharp.torch.Tensor;

namespace Malunet.Inference;

/// <summary>Runs a segmentation network on a preprocessed N x C x H x W CPU batch; returns the probabilities on the CPU.</summary>
public interface IInferenceEngine : IDisposable
{
    string Name { get; }

    /// <summary>The square input size the network runs at.</summary>
    int InputSize { get; }

    /// <summary>Output channels: 1 for the paper's lesion probability, K &gt;= 2 for softmax class probabilities.</summary>
    int Classes => 1;

    Tensor Run(Tensor batch);

    /// <summary>
    /// Runs a float32 batch held in managed memory (<paramref name="shape"/> N x C x H x W, the first N·C·H·W values
    /// of <paramref name="batch"/>) and writes its N x <see cref="Classes"/> x H x W probabilities to the start of
    /// <paramref name="probabilities"/>; returns their shape.
    /// </summary>
    long[] Run(float[] batch, long[] shape, float[] probabilities)
    {
        using var scope = NewDisposeScope();
        var x = empty(shape, float32);
        batch.AsSpan(0, (int)x.numel()).CopyTo(Data.Preprocessing.FloatSpan(x));
        var y = Run(x);
        Data.Preprocessing.FloatSpan(y).CopyTo(probabilities);
        return y.shape;
    }
}

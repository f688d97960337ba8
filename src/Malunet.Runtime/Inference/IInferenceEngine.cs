namespace Malunet.Inference;

/// <summary>
/// Runs a segmentation network on a preprocessed N x C x H x W float32 batch held in managed memory and writes its
/// probabilities (sigmoid for one class, softmax for K &gt;= 2). ONNX Runtime (<see cref="OnnxEngine"/>) is the
/// engine of this library; the Malunet package adds libtorch's.
/// </summary>
public interface IInferenceEngine : IDisposable
{
    /// <summary>What runs the network, in a word or a few (onnx, torch, an ensemble).</summary>
    string Name { get; }

    /// <summary>The square input size the network runs at.</summary>
    int InputSize { get; }

    /// <summary>Output channels: 1 for the paper's lesion probability, K &gt;= 2 for softmax class probabilities.</summary>
    int Classes => 1;

    /// <summary>
    /// Runs the batch (<paramref name="shape"/> N x C x H x W, the first N·C·H·W values of <paramref name="batch"/>)
    /// and writes its N x <see cref="Classes"/> x H x W probabilities to the start of
    /// <paramref name="probabilities"/>; returns their shape. Safe to call from several threads at once.
    /// </summary>
    long[] Run(float[] batch, long[] shape, float[] probabilities);
}

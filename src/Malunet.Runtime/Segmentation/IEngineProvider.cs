using Malunet.Inference;

namespace Malunet;

/// <summary>
/// Opens what ONNX Runtime alone cannot: checkpoints (.safetensors, official .pth), cross-validation folders, the
/// bundled weights of architectures without an ONNX file, and the torch engine. The Malunet package implements it
/// (<c>Malunet.Inference.TorchEngineProvider</c>); <c>Segmenter</c> finds it when that assembly is present.
/// </summary>
public interface IEngineProvider
{
    /// <summary>
    /// The engine for <paramref name="weights"/> (null: the bundled weights of the options' model and data set)
    /// and a one-line description of what runs.
    /// </summary>
    (IInferenceEngine Engine, string Description) Open(string? weights, SegmenterOptions options);
}

namespace Malunet;

/// <summary>Which network runs a <see cref="Segmenter"/>: ONNX Runtime (this package) or libtorch (the Malunet package).</summary>
public enum SegmenterEngine
{
    /// <summary>ONNX Runtime on the CPU: the default, exact to the official code on every processor and the faster one for inference.</summary>
    Onnx,

    /// <summary>TorchSharp (libtorch): needs the Malunet package; <see cref="SegmenterOptions.Device"/> picks the device.</summary>
    Torch,
}

/// <summary>How a <see cref="Segmenter"/> opens its network and turns probabilities into masks.</summary>
public sealed record SegmenterOptions
{
    /// <summary>A pixel is lesion where its probability is at least this (0 &lt; threshold &lt; 1; the paper's 0.5).</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>Average each prediction over the horizontal, vertical and double flips (4 network runs an image).</summary>
    public bool TestTimeAugmentation { get; init; }

    /// <summary>The architecture whose bundled weights <see cref="Segmenter.Open(SegmenterOptions?)"/> runs (malunet, egeunet, unext-s).</summary>
    public string Model { get; init; } = "malunet";

    /// <summary>The data set the bundled weights were trained on: isic2017 (the default) or isic2018.</summary>
    public string Dataset { get; init; } = Models.BundledWeights.DefaultDataset;

    /// <summary>The engine; <see cref="SegmenterEngine.Onnx"/> unless asked.</summary>
    public SegmenterEngine Engine { get; init; } = SegmenterEngine.Onnx;

    /// <summary>CPU threads of the network (default: every core). For the torch engine this sets libtorch's thread count, which is one for the whole process.</summary>
    public int? Threads { get; init; }

    /// <summary>The torch engine's device: <c>cpu</c>, or <c>cuda[:N]</c> with a CUDA libtorch.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>Images the network runs at once in <see cref="Segmenter.SegmentMany"/>.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>The error a bad option gives (null when all are good).</summary>
    internal string? Problem() =>
        (Evaluation.MaskMetrics.ThresholdProblem(Threshold) is { } threshold ? "the threshold " + threshold : null)
        ?? (Threads is < 1 ? $"threads must be at least 1, got {Threads}"
        : BatchSize < 1 ? $"the batch size must be at least 1, got {BatchSize}"
        : !Models.BundledWeights.Datasets.Contains(Dataset) ? $"no bundled weights are trained on '{Dataset}'; the data sets are {string.Join(", ", Models.BundledWeights.Datasets)}"
        : null);
}

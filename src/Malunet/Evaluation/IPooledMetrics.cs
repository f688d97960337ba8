using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Malunet.Evaluation;

/// <summary>
/// Metrics pooled over every pixel of every image added: the paper's binary ones (<see cref="ConfusionMetrics"/>) or
/// their per-class form (<see cref="ClassConfusionMetrics"/>). Training selects and reports through this.
/// </summary>
public interface IPooledMetrics
{
    /// <summary>The foreground IoU (binary) or its mean over the foreground classes.</summary>
    double MIoU { get; }

    /// <summary>The foreground Dice (binary) or its mean over the foreground classes.</summary>
    double Dsc { get; }

    /// <summary>Images added.</summary>
    int Images { get; }

    /// <summary>Adds a batch: the network's probabilities (B x K x H x W) and the targets (B x 1 x H x W).</summary>
    void Add(Tensor probabilities, Tensor groundTruth);

    /// <summary>The counts and metrics as JSON.</summary>
    JsonObject ToJson();

    /// <summary>The metrics for the network's class count: binary at <paramref name="threshold"/>, per class (argmax) otherwise.</summary>
    static IPooledMetrics For(int classes, double threshold) =>
        classes == 1 ? new ConfusionMetrics(threshold) : new ClassConfusionMetrics(classes);
}

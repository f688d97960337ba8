using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Evaluation;

/// <summary>
/// A binary confusion matrix pooled over every pixel of every image, and the paper's five metrics computed from it
/// exactly as the official <c>engine.py</c> does: a pixel is predicted foreground when <c>p &gt;= threshold</c>
/// and is foreground in the ground truth when <c>g &gt;= 0.5</c> (note <c>&gt;=</c>); mIoU is the foreground IoU
/// TP/(TP+FP+FN), DSC = 2TP/(2TP+FP+FN), Acc = (TP+TN)/all, Sen = TP/(TP+FN), Spe = TN/(TN+FP); a metric whose
/// denominator is 0 is 0.
/// </summary>
public sealed class ConfusionMetrics : IPooledMetrics
{
    /// <summary>Lesion pixels predicted lesion.</summary>
    public long TP { get; private set; }
    /// <summary>Background pixels predicted lesion.</summary>
    public long FP { get; private set; }
    /// <summary>Lesion pixels predicted background.</summary>
    public long FN { get; private set; }
    /// <summary>Background pixels predicted background.</summary>
    public long TN { get; private set; }
    /// <summary>Images added.</summary>
    public int Images { get; private set; }
    /// <summary>The probability threshold of the predicted masks.</summary>
    public double Threshold { get; }

    /// <summary>Empty counts at <paramref name="threshold"/>.</summary>
    public ConfusionMetrics(double threshold = 0.5) => Threshold = threshold;

    /// <summary>Adds a batch: probabilities and ground truth of the same shape (B x 1 x H x W or B x H x W).</summary>
    public void Add(Tensor probabilities, Tensor groundTruth)
    {
        if (!probabilities.shape.SequenceEqual(groundTruth.shape))
            throw new ArgumentException($"prediction [{string.Join(",", probabilities.shape)}] and ground truth [{string.Join(",", groundTruth.shape)}] differ in shape");
        using var scope = NewDisposeScope();
        var p = probabilities.ge(MaskMetrics.LesionLimit(Threshold)); // MaskMetrics.IsLesion, in float32
        var g = groundTruth.ge(0.5); // MaskMetrics.IsTrueLesion on masks scaled to 0..1 (128/255 is the first value above 0.5)
        long tp = (p & g).sum().item<long>();
        long predicted = p.sum().item<long>();
        long actual = g.sum().item<long>();
        long all = p.numel();
        TP += tp;
        FP += predicted - tp;
        FN += actual - tp;
        TN += all - predicted - actual + tp;
        Images += (int)probabilities.shape[0];
    }

    /// <summary>Adds another matrix's counts (a shard of the same evaluation).</summary>
    public void Add(ConfusionMetrics other)
    {
        TP += other.TP; FP += other.FP; FN += other.FN; TN += other.TN;
        Images += other.Images;
    }

    /// <summary>The counts written by <see cref="ToJson"/>.</summary>
    public static ConfusionMetrics FromJson(JsonObject json) => new((double)json["threshold"]!)
    {
        TP = (long)json["tp"]!, FP = (long)json["fp"]!, FN = (long)json["fn"]!, TN = (long)json["tn"]!, Images = (int)json["images"]!,
    };

    static double Ratio(double num, double den) => den != 0 ? num / den : 0;
    /// <summary>TP / (TP + FP + FN), as the official engine.py.</summary>
    public double MIoU => Ratio(TP, TP + FP + FN);
    /// <summary>2 TP / (2 TP + FP + FN).</summary>
    public double Dsc => Ratio(2.0 * TP, 2.0 * TP + FP + FN);
    /// <summary>(TP + TN) / all pixels.</summary>
    public double Accuracy => Ratio(TN + TP, TP + FP + FN + TN);
    /// <summary>TP / (TP + FN).</summary>
    public double Sensitivity => Ratio(TP, TP + FN);
    /// <summary>TN / (TN + FP).</summary>
    public double Specificity => Ratio(TN, TN + FP);

    /// <inheritdoc/>
    public JsonObject ToJson() => new()
    {
        ["miou"] = MIoU, ["dsc"] = Dsc, ["acc"] = Accuracy, ["sen"] = Sensitivity, ["spe"] = Specificity,
        ["tp"] = TP, ["fp"] = FP, ["fn"] = FN, ["tn"] = TN, ["images"] = Images, ["threshold"] = Threshold,
    };

    /// <summary>The paper's five metrics on one line.</summary>
    public override string ToString() =>
        $"mIoU {MIoU:F4}  DSC {Dsc:F4}  Acc {Accuracy:F4}  Sen {Sensitivity:F4}  Spe {Specificity:F4}";
}

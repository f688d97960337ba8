using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Evaluation;

/// <summary>
/// The multi-class form of the paper's pooled metrics (<c>--num-classes K</c>, K &gt;= 2). A pixel's predicted class
/// is the argmax of the K probabilities (ties go to the lower class); a K x K confusion matrix (rows: true class,
/// columns: predicted) is pooled over every pixel of every image. Each class c is then scored one-vs-rest with the
/// paper's five formulas (<see cref="ConfusionMetrics"/>); mIoU, DSC, Sen and Spe are the means over the foreground
/// classes 1..K-1, as nnU-Net reports them (class 0 is the background; with K = 2 they are class 1's own scores), and
/// Acc is the share of pixels whose class is right.
/// </summary>
public sealed class ClassConfusionMetrics : IPooledMetrics
{
    private readonly long[] counts;

    /// <summary>Empty counts for <paramref name="classes"/> classes.</summary>
    public ClassConfusionMetrics(int classes)
    {
        if (classes < 2 || classes > 256) throw new ArgumentOutOfRangeException(nameof(classes), $"2 to 256 classes, got {classes}");
        Classes = classes;
        counts = new long[classes * classes];
    }

    /// <summary>Classes, the background (0) included.</summary>
    public int Classes { get; }
    /// <summary>Images added.</summary>
    public int Images { get; private set; }

    /// <summary>Pixels of true class <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long Count(int truth, int predicted) => counts[truth * Classes + predicted];

    /// <inheritdoc/>
    public void Add(Tensor probabilities, Tensor groundTruth)
    {
        if (probabilities.shape[1] != Classes)
            throw new ArgumentException($"{probabilities.shape[1]} output channels for {Classes} classes");
        using var scope = NewDisposeScope();
        var predicted = probabilities.argmax(1).flatten();
        var truth = groundTruth.reshape(-1).to(ScalarType.Int64);
        var pairs = (truth * Classes + predicted).bincount(null, Classes * Classes);
        var add = pairs.cpu().data<long>().ToArray();
        for (int i = 0; i < counts.Length; i++) counts[i] += add[i];
        Images += (int)probabilities.shape[0];
    }

    /// <summary>Adds one image's predicted and true class maps (same length).</summary>
    public void Add(ReadOnlySpan<byte> predicted, ReadOnlySpan<byte> truth)
    {
        if (predicted.Length != truth.Length) throw new ArgumentException("label maps differ in size");
        for (int i = 0; i < predicted.Length; i++) counts[truth[i] * Classes + predicted[i]]++;
        Images++;
    }

    /// <summary>The one-vs-rest counts of class <paramref name="c"/>.</summary>
    public (long TP, long FP, long FN, long TN) OneVsRest(int c)
    {
        long tp = Count(c, c), predicted = 0, actual = 0, all = 0;
        for (int k = 0; k < Classes; k++) { predicted += Count(k, c); actual += Count(c, k); }
        foreach (var n in counts) all += n;
        return (tp, predicted - tp, actual - tp, all - predicted - actual + tp);
    }

    static double Ratio(double num, double den) => den != 0 ? num / den : 0;
    /// <summary>Class <paramref name="c"/>'s IoU, one class against the rest.</summary>
    public double IoU(int c) { var (tp, fp, fn, _) = OneVsRest(c); return Ratio(tp, tp + fp + fn); }
    /// <summary>Class <paramref name="c"/>'s Dice.</summary>
    public double Dice(int c) { var (tp, fp, fn, _) = OneVsRest(c); return Ratio(2.0 * tp, 2.0 * tp + fp + fn); }
    /// <summary>Class <paramref name="c"/>'s sensitivity.</summary>
    public double Sensitivity(int c) { var (tp, _, fn, _) = OneVsRest(c); return Ratio(tp, tp + fn); }
    /// <summary>Class <paramref name="c"/>'s specificity.</summary>
    public double Specificity(int c) { var (_, fp, _, tn) = OneVsRest(c); return Ratio(tn, tn + fp); }
    /// <inheritdoc/>
    public double MIoU => Enumerable.Range(1, Classes - 1).Average(IoU);
    /// <inheritdoc/>
    public double Dsc => Enumerable.Range(1, Classes - 1).Average(Dice);
    /// <summary>Mean sensitivity over the foreground classes.</summary>
    public double MeanSensitivity => Enumerable.Range(1, Classes - 1).Average(Sensitivity);
    /// <summary>Mean specificity over the foreground classes.</summary>
    public double MeanSpecificity => Enumerable.Range(1, Classes - 1).Average(Specificity);

    /// <summary>The share of pixels whose class is right.</summary>
    public double Accuracy
    {
        get
        {
            long right = 0, all = 0;
            for (int c = 0; c < Classes; c++) right += Count(c, c);
            foreach (var n in counts) all += n;
            return Ratio(right, all);
        }
    }

    /// <inheritdoc/>
    public JsonObject ToJson()
    {
        var perClass = new JsonArray();
        for (int c = 0; c < Classes; c++)
        {
            var (tp, fp, fn, tn) = OneVsRest(c);
            perClass.Add(new JsonObject
            {
                ["class"] = c, ["miou"] = IoU(c), ["dsc"] = Dice(c), ["acc"] = Ratio(tp + tn, tp + fp + fn + tn),
                ["sen"] = Sensitivity(c), ["spe"] = Specificity(c), ["tp"] = tp, ["fp"] = fp, ["fn"] = fn, ["tn"] = tn,
            });
        }
        var matrix = new JsonArray();
        for (int t = 0; t < Classes; t++) matrix.Add(new JsonArray(Enumerable.Range(0, Classes).Select(p => (JsonNode)Count(t, p)).ToArray()));
        return new JsonObject
        {
            ["classes"] = Classes, ["miou"] = MIoU, ["dsc"] = Dsc, ["acc"] = Accuracy, ["sen"] = MeanSensitivity, ["spe"] = MeanSpecificity,
            ["images"] = Images,
            ["mean_over"] = "classes 1..K-1", ["per_class"] = perClass, ["confusion"] = matrix,
        };
    }

    /// <summary>Counts written by <see cref="ToJson"/>.</summary>
    public static ClassConfusionMetrics FromJson(JsonObject json)
    {
        var m = new ClassConfusionMetrics((int)json["classes"]!) { Images = (int)json["images"]! };
        var matrix = json["confusion"]!.AsArray();
        for (int t = 0; t < m.Classes; t++)
            for (int p = 0; p < m.Classes; p++) m.counts[t * m.Classes + p] = (long)matrix[t]![p]!;
        return m;
    }

    /// <summary>Adds another matrix's counts (a shard of the same evaluation).</summary>
    public void Add(ClassConfusionMetrics other)
    {
        if (other.Classes != Classes) throw new ArgumentException($"{other.Classes} classes cannot be added to {Classes}");
        for (int i = 0; i < counts.Length; i++) counts[i] += other.counts[i];
        Images += other.Images;
    }

    /// <summary>The mean foreground metrics, on one line.</summary>
    public override string ToString()
    {
        var s = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"mIoU {MIoU:F4}  DSC {Dsc:F4}  Acc {Accuracy:F4} (mean of classes 1..{Classes - 1})"));
        for (int c = 1; c < Classes; c++) s.Append(CultureInfo.InvariantCulture, $"; class {c}: IoU {IoU(c):F4} Dice {Dice(c):F4}");
        return s.ToString();
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Malunet.Interop;

namespace Malunet.Evaluation;

/// <summary>
/// One image's per-class scores (classes 1..K-1, index c-1): Dice and IoU, each 1 when the class is absent from both
/// the prediction and the mask (as <see cref="MaskMetrics"/> scores two empty masks).
/// </summary>
public sealed record ClassImageScores(string Id, int Width, int Height, double[] Dice, double[] IoU)
{
    /// <summary>The scores of one image's predicted and true class maps.</summary>
    public static ClassImageScores Of(string id, int width, int height, ReadOnlySpan<byte> predicted, ReadOnlySpan<byte> truth, int classes)
    {
        var m = new ClassConfusionMetrics(classes);
        m.Add(predicted, truth);
        var dice = new double[classes - 1];
        var iou = new double[classes - 1];
        for (int c = 1; c < classes; c++)
        {
            var (tp, fp, fn, _) = m.OneVsRest(c);
            bool absent = tp + fp + fn == 0;
            dice[c - 1] = absent ? 1 : m.Dice(c);
            iou[c - 1] = absent ? 1 : m.IoU(c);
        }
        return new ClassImageScores(id, width, height, dice, iou);
    }
}

/// <summary>
/// What a multi-class evaluation leaves behind: the pooled per-class metrics at the network size (the paper's protocol:
/// image and mask resized) and, when computed, at each mask's original size, and the per-image rows (in id order).
/// Files: <c>per_image.csv</c> (<c>id,width,height,dice_1..,iou_1..</c>) and <c>summary.json</c>.
/// </summary>
public sealed record ClassEvaluationRecord(ClassConfusionMetrics AtNetworkSize, ClassConfusionMetrics? Original, IReadOnlyList<ClassImageScores> Rows)
{
    public int Classes => AtNetworkSize.Classes;

    public JsonObject SummaryJson()
    {
        var perImage = new JsonObject();
        for (int c = 1; c < Classes; c++)
        {
            var (dm, ds, n) = EvaluationRecord.Stats(Rows.Select(r => r.Dice[c - 1]));
            var (im, iS, _) = EvaluationRecord.Stats(Rows.Select(r => r.IoU[c - 1]));
            perImage[$"class_{c}"] = new JsonObject { ["dice_mean"] = dm, ["dice_std"] = ds, ["iou_mean"] = im, ["iou_std"] = iS, ["n"] = n };
        }
        var summary = new JsonObject
        {
            ["classes"] = Classes,
            ["pooled_network_size"] = AtNetworkSize.ToJson(),
            ["per_image"] = perImage,
            ["per_image_resolution"] = Original != null ? "original" : "network size",
        };
        if (Original != null) summary["pooled_original_resolution"] = Original.ToJson();
        return summary;
    }

    /// <summary>Writes per_image.csv and summary.json into <paramref name="folder"/> (each atomically).</summary>
    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        var csv = new StringBuilder("id,width,height");
        for (int c = 1; c < Classes; c++) csv.Append(CultureInfo.InvariantCulture, $",dice_{c}");
        for (int c = 1; c < Classes; c++) csv.Append(CultureInfo.InvariantCulture, $",iou_{c}");
        csv.Append('\n');
        foreach (var r in Rows)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{CsvText.Quote(r.Id)},{r.Width},{r.Height}");
            foreach (var v in r.Dice.Concat(r.IoU)) csv.Append(',').Append(v.ToString("R", CultureInfo.InvariantCulture));
            csv.Append('\n');
        }
        AtomicFile.WriteAllText(Path.Combine(folder, EvaluationRecord.RowsFile), csv.ToString());
        AtomicFile.WriteAllText(Path.Combine(folder, EvaluationRecord.SummaryFile),
                                SummaryJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }
}

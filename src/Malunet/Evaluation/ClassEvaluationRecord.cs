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
/// Files: <c>per_image.csv</c> (<c>id,width,height,dice_1..,iou_1..</c>, numbers that round-trip) and
/// <c>summary.json</c> (with the confusion matrices), all that shards need to merge into exactly one run's result.
/// </summary>
public sealed record ClassEvaluationRecord(ClassConfusionMetrics AtNetworkSize, ClassConfusionMetrics? Original, IReadOnlyList<ClassImageScores> Rows)
{
    /// <summary>Classes, the background included.</summary>
    public int Classes => AtNetworkSize.Classes;

    private static string Header(int classes) =>
        "id,width,height" + string.Concat(Enumerable.Range(1, classes - 1).Select(c => $",dice_{c}"))
                          + string.Concat(Enumerable.Range(1, classes - 1).Select(c => $",iou_{c}"));

    /// <summary>True when <paramref name="folder"/> holds a multi-class evaluation (its summary names the classes).</summary>
    public static bool IsIn(string folder)
    {
        var path = Path.Combine(folder, EvaluationRecord.SummaryFile);
        try { return File.Exists(path) && JsonNode.Parse(File.ReadAllText(path)) is JsonObject o && o.ContainsKey("classes"); }
        catch (JsonException) { return false; }
    }

    /// <summary>Reads a folder written by <see cref="Write"/>; throws <see cref="InvalidDataException"/> naming the file.</summary>
    public static ClassEvaluationRecord Read(string folder)
    {
        var (summaryPath, rowsPath) = EvaluationRecord.Files(folder);
        ClassConfusionMetrics atNetworkSize;
        ClassConfusionMetrics? original;
        try
        {
            var summary = JsonNode.Parse(File.ReadAllText(summaryPath))!.AsObject();
            atNetworkSize = ClassConfusionMetrics.FromJson(summary["pooled_network_size"]!.AsObject());
            original = summary["pooled_original_resolution"] is JsonObject o ? ClassConfusionMetrics.FromJson(o) : null;
        }
        catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException or FormatException)
        { throw new InvalidDataException($"{summaryPath}: not a multi-class evaluation summary ({e.Message})"); }
        int k = atNetworkSize.Classes;
        var lines = File.ReadAllLines(rowsPath);
        if (lines.Length == 0 || lines[0] != Header(k)) throw new InvalidDataException($"{rowsPath}: not a per-image table of {k} classes (header differs)");
        var rows = new List<ClassImageScores>();
        for (int i = 1; i < lines.Length; i++)
        {
            var f = CsvText.Split(lines[i]);
            if (f.Count != 3 + 2 * (k - 1)) throw new InvalidDataException($"{rowsPath}: line {i + 1} has {f.Count} fields, expected {3 + 2 * (k - 1)}");
            double D(int j) => double.Parse(f[j], CultureInfo.InvariantCulture);
            rows.Add(new ClassImageScores(f[0], int.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture),
                                          Enumerable.Range(3, k - 1).Select(D).ToArray(), Enumerable.Range(3 + k - 1, k - 1).Select(D).ToArray()));
        }
        return new ClassEvaluationRecord(atNetworkSize, original, rows);
    }

    /// <summary>Combines shard records into the record of one run over all their images: summed matrices, rows in id order.</summary>
    public static ClassEvaluationRecord Merge(IReadOnlyList<ClassEvaluationRecord> shards)
    {
        if (shards.Count == 0) throw new ArgumentException("nothing to merge");
        if (shards.Select(s => s.Classes).Distinct().Count() > 1) throw new InvalidDataException("the shards were evaluated with different class counts");
        if (shards.Select(s => s.Original != null).Distinct().Count() > 1) throw new InvalidDataException("some shards have original-resolution scores and some do not");
        var rows = EvaluationRecord.RowsInIdOrder(shards.SelectMany(s => s.Rows), r => r.Id);
        var atNetworkSize = new ClassConfusionMetrics(shards[0].Classes);
        foreach (var s in shards) atNetworkSize.Add(s.AtNetworkSize);
        ClassConfusionMetrics? original = null;
        if (shards[0].Original != null)
        {
            original = new ClassConfusionMetrics(shards[0].Classes);
            foreach (var s in shards) original.Add(s.Original!);
        }
        return new ClassEvaluationRecord(atNetworkSize, original, rows);
    }

    /// <summary>summary.json's content.</summary>
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
        var csv = new StringBuilder(Header(Classes) + "\n");
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

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Malunet.Interop;

namespace Malunet.Evaluation;

/// <summary>One image's scores: at the network size, at the mask's original size (if computed) and its loss.</summary>
public sealed record ImageScores(string Id, int Width, int Height, MaskScores At256, MaskScores? Original, double Loss);

/// <summary>
/// What an evaluation leaves behind, and all that is needed to merge shards into exactly the result of one run: the
/// pooled confusion counts and the per-image rows (in id order; numbers written to round-trip exactly).
/// Files: <c>per_image.csv</c> and <c>summary.json</c>.
/// </summary>
public sealed record EvaluationRecord(ConfusionMetrics Metrics, IReadOnlyList<ImageScores> Rows, bool OriginalResolution)
{
    /// <summary>One row per image.</summary>
    public const string RowsFile = "per_image.csv";
    /// <summary>The pooled metrics and the per-image means.</summary>
    public const string SummaryFile = "summary.json";
    private const string Header = "id,width,height,dice_256,iou_256,hd95_256,dice_original,iou_original,hd95_original,loss";

    /// <summary>The mean per-image loss, summed in id order (so shards merge to the same value).</summary>
    public double MeanLoss => Rows.Count > 0 ? Rows.Sum(r => r.Loss) / Rows.Count : double.NaN;

    /// <summary>Mean, standard deviation and count of the values that are numbers (NaN left out).</summary>
    public static (double Mean, double Std, int N) Stats(IEnumerable<double> values)
    {
        var v = values.Where(x => !double.IsNaN(x)).ToList();
        if (v.Count == 0) return (double.NaN, double.NaN, 0);
        double m = v.Average();
        return (m, Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / v.Count), v.Count);
    }

    private static JsonObject StatsJson(IEnumerable<double> values)
    {
        var (m, s, n) = Stats(values);
        return new JsonObject { ["mean"] = double.IsNaN(m) ? null : m, ["std"] = double.IsNaN(s) ? null : s, ["n"] = n };
    }

    private static JsonObject PerImageJson(IEnumerable<MaskScores> scores) => new()
    {
        ["dice"] = StatsJson(scores.Select(x => x.Dice)), ["iou"] = StatsJson(scores.Select(x => x.IoU)), ["hd95"] = StatsJson(scores.Select(x => x.Hd95)),
    };

    /// <summary>The ten images with the lowest Dice (at the original resolution where computed).</summary>
    public IEnumerable<ImageScores> Worst(int count = 10) => Rows.OrderBy(x => (x.Original ?? x.At256).Dice).Take(count);

    /// <summary>summary.json's content.</summary>
    public JsonObject SummaryJson()
    {
        var summary = new JsonObject
        {
            ["paper_metrics"] = Metrics.ToJson(),
            ["loss"] = MeanLoss,
            ["per_image_256"] = PerImageJson(Rows.Select(x => x.At256)),
            ["worst"] = new JsonArray(Worst().Select(x => (JsonNode)new JsonObject { ["id"] = x.Id, ["dice"] = (x.Original ?? x.At256).Dice }).ToArray()),
        };
        if (OriginalResolution) summary["per_image_original"] = PerImageJson(Rows.Select(x => x.Original!));
        return summary;
    }

    /// <summary>Writes per_image.csv and summary.json into <paramref name="folder"/> (each atomically).</summary>
    public void Write(string folder)
    {
        Directory.CreateDirectory(folder);
        var csv = new StringBuilder(Header + "\n");
        static string F(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
        static string S(MaskScores? s) => s == null ? ",," : $"{F(s.Dice)},{F(s.IoU)},{F(s.Hd95)}";
        foreach (var x in Rows)
            csv.Append($"{CsvText.Quote(x.Id)},{x.Width},{x.Height},{S(x.At256)},{S(x.Original)},{F(x.Loss)}\n");
        AtomicFile.WriteAllText(Path.Combine(folder, RowsFile), csv.ToString());
        AtomicFile.WriteAllText(Path.Combine(folder, SummaryFile), SummaryJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Reads a folder written by <see cref="Write"/>; throws <see cref="InvalidDataException"/> naming the file.</summary>
    public static EvaluationRecord Read(string folder)
    {
        var (summaryPath, rowsPath) = Files(folder);
        ConfusionMetrics metrics;
        try { metrics = ConfusionMetrics.FromJson(JsonNode.Parse(File.ReadAllText(summaryPath))!["paper_metrics"]!.AsObject()); }
        catch (Exception e) when (e is JsonException or NullReferenceException or InvalidOperationException or FormatException)
        { throw new InvalidDataException($"{summaryPath}: not an evaluation summary ({e.Message})"); }
        var lines = File.ReadAllLines(rowsPath);
        if (lines.Length == 0 || lines[0] != Header) throw new InvalidDataException($"{rowsPath}: not a per-image table of this version (header differs)");
        var rows = new List<ImageScores>();
        bool original = true;
        for (int i = 1; i < lines.Length; i++)
        {
            var f = CsvText.Split(lines[i]);
            if (f.Count != 10) throw new InvalidDataException($"{rowsPath}: line {i + 1} has {f.Count} fields, expected 10");
            double D(int k) => f[k].Length == 0 ? double.NaN : double.Parse(f[k], CultureInfo.InvariantCulture);
            MaskScores? Scores(int k) => f[k].Length == 0 && f[k + 1].Length == 0 ? null : new MaskScores(D(k), D(k + 1), D(k + 2), 0, 0);
            var orig = Scores(6);
            original &= orig != null;
            rows.Add(new ImageScores(f[0], int.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture), Scores(3)!, orig, D(9)));
        }
        return new EvaluationRecord(metrics, rows, original && rows.Count > 0);
    }

    /// <summary>
    /// Combines shard records into the record of one run over all their images: summed counts, rows in id order.
    /// The shards must share the threshold and not overlap.
    /// </summary>
    public static EvaluationRecord Merge(IReadOnlyList<EvaluationRecord> shards)
    {
        if (shards.Count == 0) throw new ArgumentException("nothing to merge");
        if (shards.Select(s => s.Metrics.Threshold).Distinct().Count() > 1) throw new InvalidDataException("the shards were evaluated at different thresholds");
        if (shards.Select(s => s.OriginalResolution).Distinct().Count() > 1) throw new InvalidDataException("some shards have original-resolution scores and some do not");
        var rows = RowsInIdOrder(shards.SelectMany(s => s.Rows), r => r.Id);
        var metrics = new ConfusionMetrics(shards[0].Metrics.Threshold);
        foreach (var s in shards) metrics.Add(s.Metrics);
        return new EvaluationRecord(metrics, rows, shards[0].OriginalResolution);
    }

    /// <summary>The summary and rows files of an evaluation folder (binary or per class); a missing one is named.</summary>
    internal static (string Summary, string Rows) Files(string folder)
    {
        string summaryPath = Path.Combine(folder, SummaryFile), rowsPath = Path.Combine(folder, RowsFile);
        foreach (var p in new[] { summaryPath, rowsPath })
            if (!File.Exists(p)) throw new FileNotFoundException($"{p}: missing (an evaluation record folder holds {RowsFile} and {SummaryFile})");
        return (summaryPath, rowsPath);
    }

    /// <summary>The shards' rows together, in id order; an image in two shards is an error.</summary>
    internal static List<T> RowsInIdOrder<T>(IEnumerable<T> rows, Func<T, string> id)
    {
        var ordered = rows.OrderBy(id, StringComparer.Ordinal).ToList();
        for (int i = 1; i < ordered.Count; i++)
            if (id(ordered[i]) == id(ordered[i - 1])) throw new InvalidDataException($"image {id(ordered[i])} is in more than one shard");
        return ordered;
    }
}

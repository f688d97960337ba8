using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Malunet.Data;
using Malunet.Interop;

namespace Malunet.Training;

/// <summary>One row of <c>metrics.csv</c>.</summary>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double ValLoss, double ValMIoU, double ValDsc, double Lr,
                                  double Seconds, double ImagesPerSecond, double PeakRssMb)
{
    /// <summary>metrics.csv's header.</summary>
    public const string Header = "epoch,train_loss,val_loss,val_miou,val_dsc,lr,seconds,images_per_s,peak_rss_mb";

    /// <summary>One metrics.csv row.</summary>
    public string ToCsv() => string.Join(",", new object[] { Epoch, TrainLoss, ValLoss, ValMIoU, ValDsc, Lr, Seconds, ImagesPerSecond, PeakRssMb }
        .Select(v => v switch { double d => d.ToString("G9", CultureInfo.InvariantCulture), _ => Convert.ToString(v, CultureInfo.InvariantCulture) }));

    /// <summary>Reads one metrics.csv row.</summary>
    public static EpochMetrics Parse(string line)
    {
        var p = line.Split(',');
        double D(int i) => double.Parse(p[i], CultureInfo.InvariantCulture);
        return new EpochMetrics(int.Parse(p[0], CultureInfo.InvariantCulture), D(1), D(2), D(3), D(4), D(5), D(6), D(7), D(8));
    }
}

/// <summary>
/// The files of a training run: <c>config.json</c>, <c>split.json</c>, <c>metrics.csv</c>, <c>train.log</c>,
/// <c>checkpoints/last.safetensors</c> and <c>best.safetensors</c>, <c>curves.png</c>, <c>panels.png</c> and
/// <c>test.json</c>. Every file is written atomically.
/// </summary>
public sealed class RunFolder
{
    /// <summary>The run folder's absolute path.</summary>
    public string Root { get; }
    /// <summary>Opens (and creates) the run folder at <paramref name="root"/> with its checkpoints/ folder.</summary>
    public RunFolder(string root) { Root = Path.GetFullPath(root); Directory.CreateDirectory(Path.Combine(Root, "checkpoints")); }

    /// <summary>
    /// Removes the folder if nothing but what a start writes is in it (no checkpoint): a run that failed before its
    /// first epoch leaves nothing behind. A folder with anything else in it is left alone.
    /// </summary>
    public void DeleteIfEmpty()
    {
        try
        {
            if (Directory.EnumerateFiles(Path.Combine(Root, "checkpoints")).Any()) return;
            var startFiles = new[] { ConfigPath, SplitPath, LogPath };
            if (Directory.EnumerateFileSystemEntries(Root).Any(e => e != Path.Combine(Root, "checkpoints") && !startFiles.Contains(e))) return;
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>The run's recipe and model options.</summary>
    public string ConfigPath => Path.Combine(Root, "config.json");
    /// <summary>The split the run trained on.</summary>
    public string SplitPath => Path.Combine(Root, "split.json");
    /// <summary>One row per finished epoch.</summary>
    public string MetricsPath => Path.Combine(Root, "metrics.csv");
    /// <summary>Every line the run printed.</summary>
    public string LogPath => Path.Combine(Root, "train.log");
    /// <summary>The training checkpoint of the last finished epoch (weights, optimiser state, position).</summary>
    public string LastCheckpoint => Path.Combine(Root, "checkpoints", "last.safetensors");
    /// <summary>The weights of the selected epoch.</summary>
    public string BestCheckpoint => Path.Combine(Root, "checkpoints", "best.safetensors");
    /// <summary>Loss and validation curves.</summary>
    public string CurvesPath => Path.Combine(Root, "curves.png");
    /// <summary>Example predictions beside their masks.</summary>
    public string PanelsPath => Path.Combine(Root, "panels.png");
    /// <summary>The test metrics of the selected weights.</summary>
    public string TestPath => Path.Combine(Root, "test.json");

    /// <summary>Writes JSON, indented, whole or not at all.</summary>
    public void WriteJson(string path, JsonNode node) =>
        AtomicFile.WriteAllText(path, node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");

    /// <summary>The rows of metrics.csv.</summary>
    public List<EpochMetrics> ReadMetrics() =>
        File.Exists(MetricsPath)
            ? File.ReadAllLines(MetricsPath).Skip(1).Where(l => l.Length > 0).Select(EpochMetrics.Parse).ToList()
            : new List<EpochMetrics>();

    /// <summary>Writes metrics.csv whole.</summary>
    public void WriteMetrics(IEnumerable<EpochMetrics> rows)
    {
        var sb = new StringBuilder(EpochMetrics.Header).Append('\n');
        foreach (var r in rows) sb.Append(r.ToCsv()).Append('\n');
        AtomicFile.WriteAllText(MetricsPath, sb.ToString());
    }

    /// <summary>Appends a line to train.log.</summary>
    public void Log(string line)
    {
        File.AppendAllText(LogPath, $"{DateTime.Now:yyyy-MM-dd HH:mm:ss} {line}\n");
    }

    /// <summary>Loss and mIoU against epoch (ScottPlot), two panels side by side.</summary>
    public void WriteCurves(IReadOnlyList<EpochMetrics> rows)
    {
        if (rows.Count == 0) return;
        double[] ep = rows.Select(r => (double)r.Epoch + 1).ToArray(); // 1-based, as the log prints them
        var loss = new ScottPlot.Plot();
        var a = loss.Add.Scatter(ep, rows.Select(r => r.TrainLoss).ToArray()); a.LegendText = "train loss";
        var b = loss.Add.Scatter(ep, rows.Select(r => r.ValLoss).ToArray()); b.LegendText = "validation loss";
        loss.Title("BCE + Dice loss"); loss.XLabel("epoch"); loss.ShowLegend();
        var iou = new ScottPlot.Plot();
        var c = iou.Add.Scatter(ep, rows.Select(r => r.ValMIoU).ToArray()); c.LegendText = "validation mIoU";
        var d = iou.Add.Scatter(ep, rows.Select(r => r.ValDsc).ToArray()); d.LegendText = "validation DSC";
        iou.Title("Validation metrics"); iou.XLabel("epoch"); iou.ShowLegend();
        AtomicFile.WriteAllBytes(CurvesPath, PlotImages.SideBySide(loss.GetImageBytes(640, 420, ScottPlot.ImageFormat.Png),
                                                                   iou.GetImageBytes(640, 420, ScottPlot.ImageFormat.Png)));
    }

    /// <summary>Rows of image | ground truth | prediction for a few validation samples.</summary>
    public void WritePanels(IReadOnlyList<CachedSample> samples, IReadOnlyList<byte[]> predictions)
    {
        if (samples.Count == 0) return;
        int s = samples[0].Size, gap = 4;
        int width = 3 * s + 2 * gap, height = samples.Count * s + (samples.Count - 1) * gap;
        var rgb = new byte[width * height * 3];
        Array.Fill(rgb, (byte)255);
        void Put(int x0, int y0, Func<int, int, (byte, byte, byte)> px)
        {
            for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++)
            {
                var (r, g, b) = px(x, y);
                int o = ((y0 + y) * width + x0 + x) * 3;
                rgb[o] = r; rgb[o + 1] = g; rgb[o + 2] = b;
            }
        }
        for (int i = 0; i < samples.Count; i++)
        {
            var smp = samples[i];
            int y0 = i * (s + gap);
            Put(0, y0, (x, y) => (smp.Image[(y * s + x) * 3], smp.Image[(y * s + x) * 3 + 1], smp.Image[(y * s + x) * 3 + 2]));
            // Binary masks in gray; class-index masks (and their predicted classes) in the overlays' class colours.
            Func<byte, (byte, byte, byte)> shade = smp.MaskHoldsClassIndices ? v => v == 0 ? ((byte)0, (byte)0, (byte)0) : Inference.MaskOutputs.ClassColour(v) : v => (v, v, v);
            Put(s + gap, y0, (x, y) => shade(smp.Mask![y * s + x]));
            Put(2 * (s + gap), y0, (x, y) => shade(predictions[i][y * s + x]));
        }
        ImageDecoder.SavePng(new Image8(width, height, 3, rgb), PanelsPath);
    }
}

using Malunet.Models;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Malunet.Interop;

namespace Malunet.Training;

/// <summary>One trained and tested model of an ablation: its counts and its test metrics.</summary>
public sealed record AblationRow(string Model, string Options, long Parameters, long Macs,
                                 double MIoU, double Dsc, double Acc, double Spe, double Sen, int Images, string RunFolder)
{
    /// <summary>A row from a finished run folder (its test.json) and the model's counts.</summary>
    public static AblationRow FromRun(string model, string options, ComplexityReport counts, RunFolder run)
    {
        if (!File.Exists(run.TestPath)) throw new FileNotFoundException($"{run.TestPath}: the run has no test result");
        var t = JsonNode.Parse(File.ReadAllText(run.TestPath))!;
        double V(string k) => t[k]?.GetValue<double>() ?? throw new InvalidDataException($"{run.TestPath}: no '{k}'");
        return new AblationRow(model, options, counts.ThopParameters, counts.Macs, V("miou"), V("dsc"), V("acc"), V("spe"), V("sen"),
                               t["images"]?.GetValue<int>() ?? 0, run.Root);
    }
}

/// <summary>
/// The paper's Table IV layout (Params, GFLOPs, mIoU, DSC, Acc, Spe, Sen) as Markdown and CSV, and its Fig. 1 as
/// <c>pareto.png</c>: mIoU against parameters and against GFLOPs.
/// </summary>
public static class AblationTable
{
    /// <summary>The table as Markdown.</summary>
    public static string Markdown(IReadOnlyList<AblationRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| Model | Params (M) | GFLOPs | mIoU (%) | DSC (%) | Acc (%) | Spe (%) | Sen (%) |");
        sb.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Model} | {r.Parameters / 1e6:F3} | {r.Macs / 1e9:F3} | {100 * r.MIoU:F2} | {100 * r.Dsc:F2} | {100 * r.Acc:F2} | {100 * r.Spe:F2} | {100 * r.Sen:F2} |"));
        return sb.ToString();
    }

    /// <summary>The table as CSV.</summary>
    public static string Csv(IReadOnlyList<AblationRow> rows)
    {
        var sb = new StringBuilder("model,options,params,macs,miou,dsc,acc,spe,sen,test_images,run_folder\n");
        foreach (var r in rows)
            sb.AppendLine(string.Join(",", new object[] { r.Model, Quote(r.Options), r.Parameters, r.Macs, r.MIoU, r.Dsc, r.Acc, r.Spe, r.Sen, r.Images, Quote(r.RunFolder) }
                .Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
        return sb.ToString();
    }

    private static string Quote(string s) => "\"" + s.Replace("\"", "\"\"") + "\"";

    /// <summary>Writes table.md, table.csv and pareto.png into <paramref name="folder"/> (atomically each).</summary>
    public static void Write(IReadOnlyList<AblationRow> rows, string folder)
    {
        Directory.CreateDirectory(folder);
        AtomicFile.WriteAllBytes(Path.Combine(folder, "table.md"), Encoding.UTF8.GetBytes(Markdown(rows)));
        AtomicFile.WriteAllBytes(Path.Combine(folder, "table.csv"), Encoding.UTF8.GetBytes(Csv(rows)));
        AtomicFile.WriteAllBytes(Path.Combine(folder, "pareto.png"), Pareto(rows));
    }

    /// <summary>Two panels: mIoU (%) against Params (M) and against GFLOPs, one labelled point per model.</summary>
    public static byte[] Pareto(IReadOnlyList<AblationRow> rows)
    {
        byte[] Panel(Func<AblationRow, double> x, string xLabel)
        {
            var plot = new ScottPlot.Plot();
            foreach (var r in rows)
            {
                var point = plot.Add.Marker(x(r), 100 * r.MIoU);
                point.Size = 10;
                var label = plot.Add.Text(r.Model, x(r), 100 * r.MIoU);
                label.LabelFontSize = 12;
                label.OffsetX = 6;
                label.OffsetY = -6;
            }
            plot.Axes.Margins(0.25, 0.2); // room for the labels right of the points
            plot.XLabel(xLabel);
            plot.YLabel("mIoU (%)");
            plot.Title($"mIoU against {xLabel}");
            return plot.GetImageBytes(640, 460, ScottPlot.ImageFormat.Png);
        }
        return PlotImages.SideBySide(Panel(r => r.Parameters / 1e6, "Params (M)"), Panel(r => r.Macs / 1e9, "GFLOPs"));
    }
}

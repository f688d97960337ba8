using System.Globalization;
using System.Text.Json.Nodes;
using Malunet.Data;
using Malunet.Interop;
using Malunet.Models;
using Malunet.Training;

namespace Malunet.Tests.Cli;

/// <summary><c>malunet ablate</c> end to end on a small split of real ISIC images.</summary>
public class AblateCliTests : TempFolderTest
{
    [Fact]
    public void Ablate_trains_each_model_and_writes_table_csv_and_pareto_then_reuses_finished_runs()
    {
        var outDir = Path.Combine(dir, "ablation");
        string[] args = { "ablate", "--data", SharedData.Isic2017, "--split", SharedData.PaperSplit("isic2017"),
                          "--models", "basicunet,bu-sab", "--epochs", "1", "--limit", "16", "--batch-size", "4", "--out", outDir };
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == 0, r.Stderr);

        var csv = File.ReadAllLines(Path.Combine(outDir, "table.csv"));
        Assert.Equal("model,options,params,macs,miou,dsc,acc,spe,sen,test_images,run_folder", csv[0]);
        Assert.Equal(3, csv.Length);
        var md = File.ReadAllText(Path.Combine(outDir, "table.md"));
        Assert.Contains("| Model | Params (M) | GFLOPs | mIoU (%) | DSC (%) | Acc (%) | Spe (%) | Sen (%) |", md);
        foreach (var (name, line) in new[] { "basicunet", "bu-sab" }.Zip(csv.Skip(1)))
        {
            // Each row holds the model's own counts and the test metrics of its own run folder.
            var test = JsonNode.Parse(File.ReadAllText(new RunFolder(Path.Combine(outDir, name)).TestPath))!;
            var counts = ModelComplexity.Measure(ModelCatalog.Create(new ModelOptions { Model = name }), 256, 3);
            Assert.StartsWith($"{name},", line);
            Assert.Contains($",{counts.ThopParameters},{counts.Macs},{test["miou"]!.GetValue<double>().ToString(CultureInfo.InvariantCulture)},", line);
            Assert.Contains($"| {name} | {counts.ThopParameters / 1e6:F3} | {counts.Macs / 1e9:F3} | {100 * test["miou"]!.GetValue<double>():F2} |", md);
            Assert.Equal(4, test["images"]!.GetValue<int>());
        }
        var (w, h) = ImageDecoder.ReadSize(Path.Combine(outDir, "pareto.png"));
        Assert.True(w >= 1000 && h >= 400, $"pareto.png is {w}x{h}");

        var again = CliRunner.Run(args);
        Assert.True(again.ExitCode == 0, again.Stderr);
        Assert.Contains("basicunet: finished run found", again.Stdout);
        Assert.Contains("bu-sab: finished run found", again.Stdout);

        var other = CliRunner.Run(args.Select(a => a == "1" ? "2" : a).ToArray());
        Assert.Equal(2, other.ExitCode);
        Assert.Contains("holds a run with another epochs", other.Stderr);
    }

    [Fact]
    public void Unknown_model_is_a_usage_error()
    {
        var r = CliRunner.Run("ablate", "--data", SharedData.Isic2017, "--models", "basicunet,nope", "--out", Path.Combine(dir, "x"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--model 'nope' is not an architecture here", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(dir, "x")));
    }
}

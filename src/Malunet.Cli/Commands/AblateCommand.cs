using System.CommandLine;
using System.Text.Json.Nodes;
using Malunet.Interop;
using Malunet.Models;
using Malunet.Native;
using Malunet.Training;

namespace Malunet.Cli.Commands;

/// <summary>
/// <c>malunet ablate</c>: trains and tests several architectures with one recipe, seed and split, one run folder
/// each under <c>--out</c>, then writes the paper's Table IV layout (<c>table.md</c>, <c>table.csv</c>) and its
/// Fig. 1 (<c>pareto.png</c>). Finished runs are reused and interrupted ones resumed, so the command can be run
/// again after a Ctrl-C or with more models.
/// </summary>
public static class AblateCommand
{
    public static Command Create()
    {
        var device = new DeviceArguments();
        var data = new Option<string>("--data") { Description = "Dataset folder (as for train)", Required = true };
        var split = new Option<string?>("--split") { Description = "JSON split file (as for train); without it a 7:3 split made with --seed" };
        var models = new Option<string>("--models") { Description = "Comma-separated architectures, e.g. basicunet,bu-dga,malunet", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "Epochs per model", DefaultValueFactory = _ => 300 };
        var batch = new Option<int>("--batch-size") { Description = "Batch size", DefaultValueFactory = _ => 8 };
        var seed = new Option<long>("--seed") { Description = "Seed for split, initialisation, order and augmentation", DefaultValueFactory = _ => 42 };
        var limit = new Option<int?>("--limit") { Description = "Quick checks: only the first N training images and N/4 validation and test images" };
        var cacheDir = new Option<string?>("--cache-dir") { Description = RecipeArguments.CacheDirDescription };
        var output = new Option<string>("--out") { Description = "Folder for the runs and the tables", Required = true };
        var cmd = new Command("ablate", "Train and test several architectures with the same recipe; write table.md, table.csv and pareto.png");
        foreach (var o in new Option[] { data, split, models, epochs, batch, seed, limit, cacheDir, output }) cmd.Options.Add(o);
        device.AddTo(cmd);
        cmd.SetAction(r =>
        {
            var names = r.GetValue(models)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (names.Length == 0) throw new UsageException("--models names no architecture");
            if (names.Distinct(StringComparer.OrdinalIgnoreCase).Count() != names.Length) throw new UsageException("--models names an architecture twice");
            var options = new List<ModelOptions>();
            foreach (var n in names)
            {
                try { options.Add(ModelCatalog.Resolve(new ModelOptions { Model = n })); }
                catch (ArgumentException e) { throw new UsageException(e); }
            }
            var recipe = new TrainingConfig
            {
                Data = Path.GetFullPath(r.GetValue(data)!), Split = r.GetValue(split) is { } sp ? Path.GetFullPath(sp) : null, Epochs = r.GetValue(epochs), BatchSize = r.GetValue(batch),
                Seed = r.GetValue(seed), Limit = r.GetValue(limit), CacheDir = r.GetValue(cacheDir),
                Device = r.GetValue(device.Device)!, Threads = r.GetValue(device.Threads),
            };
            try { recipe.Validate(); }
            catch (ArgumentException e) { throw new UsageException(e); }
            if (!Directory.Exists(recipe.Data)) throw new DirectoryNotFoundException($"{recipe.Data}: no such dataset folder");
            TorchRuntime.EnsureLoaded();
            device.Resolve(r);

            var outDir = Path.GetFullPath(r.GetValue(output)!);
            var rows = new List<AblationRow>();
            foreach (var o in options)
            {
                var config = TrainingConfig.FromJson(recipe.ToJson());
                config.Model = o;
                var run = new RunFolder(Path.Combine(outDir, o.Model));
                bool finished = File.Exists(run.TestPath), started = File.Exists(run.LastCheckpoint);
                if (finished || started) CheckSameRecipe(run, config);
                if (finished) Console.WriteLine($"{o.Model}: finished run found in {run.Root}; reusing its test result");
                else
                {
                    Console.WriteLine($"{o.Model}: {(started ? "resuming" : "training")} in {run.Root}");
                    TrainCommand.RunStoppable(cancel => ProgressReporter.Run(rep => new Trainer(config, run, rep).Run(started, cancel)));
                }
                using var net = ModelCatalog.Create(o);
                rows.Add(AblationRow.FromRun(o.Model, o.ToString(), ModelComplexity.Measure(net, config.ImageSize, o.InputChannels), run));
                AblationTable.Write(rows, outDir); // the table grows as models finish
            }
            Console.WriteLine();
            Console.Write(AblationTable.Markdown(rows));
            Console.WriteLine($"wrote {Path.Combine(outDir, "table.md")}, table.csv and pareto.png");
            return 0;
        });
        return cmd;
    }

    /// <summary>An existing run folder must hold the same model and recipe, or its results would be mixed in.</summary>
    private static void CheckSameRecipe(RunFolder run, TrainingConfig wanted)
    {
        if (!File.Exists(run.ConfigPath)) throw new InvalidDataException($"{run.ConfigPath}: missing; {run.Root} is not a run folder");
        var have = TrainingConfig.Load(run.ConfigPath).ToJson();
        var want = wanted.ToJson();
        foreach (var key in new[] { "model", "data", "split", "epochs", "batch_size", "seed", "limit", "lr", "weight_decay", "t_max" })
        {
            if (!JsonNode.DeepEquals(have[key], want[key]))
                throw new UsageException($"{run.Root} holds a run with another {key} ({have[key]?.ToJsonString() ?? "null"}, asked {want[key]?.ToJsonString() ?? "null"}); use another --out");
        }
    }
}

using System.CommandLine;
using Malunet.Data;
using Malunet.Training;

namespace Malunet.Cli.Commands;

/// <summary>
/// <c>malunet demo</c>: the whole main job on a small example that needs nothing from outside: writes synthetic
/// lesion-like dermoscopy images with masks, trains MALUNet on them with the paper's recipe for a few epochs, and
/// evaluates the held-out images.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder for the synthetic data and the run", DefaultValueFactory = _ => Path.Combine("runs", "demo") };
        var images = new Option<int>("--images") { Description = "Synthetic images to generate", DefaultValueFactory = _ => 64 };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs", DefaultValueFactory = _ => 4 };
        var device = new DeviceArguments();
        var cmd = new Command("demo", "Generate synthetic lesion images, train MALUNet on them and evaluate (a self-contained first run)");
        cmd.Options.Add(output); cmd.Options.Add(images); cmd.Options.Add(epochs);
        device.AddTo(cmd);
        cmd.SetAction(r =>
        {
            string root = Path.GetFullPath(r.GetValue(output)!);
            int n = r.GetValue(images), e = r.GetValue(epochs);
            if (n < 8) throw new UsageException($"--images must be at least 8, got {n}");
            if (e < 1) throw new UsageException($"--epochs must be at least 1, got {e}");
            var data = Path.Combine(root, "data");
            var run = new RunFolder(Path.Combine(root, "run-" + DateTime.Now.ToString("yyyyMMdd-HHmmss")));
            Console.WriteLine($"writing {n} synthetic 256x256 lesion images with masks to {data}");
            if (Directory.Exists(data)) Directory.Delete(data, true);
            SyntheticLesions.Write(data, n);
            var config = new TrainingConfig
            {
                Data = data, Epochs = e, SplitRatio = 0.75, ValRatio = 0.2, TMax = Math.Max(1, e),
                Device = r.GetValue(device.Device)!, Threads = r.GetValue(device.Threads), CacheDir = Path.Combine(root, "cache"),
            };
            var outcome = ProgressReporter.Run(rep => new Trainer(config, run, rep).Run(false, CancellationToken.None));
            Console.WriteLine();
            Console.WriteLine($"run folder: {run.Root}");
            Console.WriteLine($"  best weights  {run.BestCheckpoint}");
            Console.WriteLine($"  metrics       {run.MetricsPath}, {run.CurvesPath}");
            Console.WriteLine($"  predictions   {run.PanelsPath} (image | ground truth | prediction)");
            Console.WriteLine($"  test metrics  {run.TestPath}");
            Console.WriteLine("next: train on real data, e.g.");
            Console.WriteLine("  ./malunet train --data ../shared/data/isic2017 --split ../shared/data/isic2017/splits/malunet_7to3_seed42.json --epochs 5");
            return 0;
        });
        return cmd;
    }
}

using System.CommandLine;
using Malunet.Data;
using Malunet.Training;

namespace Malunet.Cli.Commands;

/// <summary>
/// <c>malunet demo</c>: the whole main job on a small example that needs nothing from outside: writes synthetic
/// lesion-like dermoscopy images with masks, trains MALUNet on them with the paper's recipe for a few epochs, and
/// evaluates the held-out images. With <c>--num-classes 3</c> the images hold two kinds of shapes and the masks
/// their class indices, the multi-class path end to end.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "Folder for the synthetic data and the run", DefaultValueFactory = _ => Path.Combine("runs", "demo") };
        var images = new Option<int>("--images") { Description = "Synthetic images to generate", DefaultValueFactory = _ => 64 };
        var epochs = new Option<int>("--epochs") { Description = "Training epochs", DefaultValueFactory = _ => 4 };
        var classes = new Option<int>("--num-classes") { Description = "1: lesions with binary masks; 3: brown discs (class 1) and blue squares (class 2) with class-index masks", DefaultValueFactory = _ => 1 };
        classes.AcceptOnlyFromAmong("1", "3");
        var device = new DeviceArguments();
        var cmd = new Command("demo", "Generate synthetic lesion images, train MALUNet on them and evaluate (a self-contained first run)");
        cmd.Options.Add(output); cmd.Options.Add(images); cmd.Options.Add(epochs); cmd.Options.Add(classes);
        device.AddTo(cmd);
        cmd.SetAction(r =>
        {
            string root = Path.GetFullPath(r.GetValue(output)!);
            int n = r.GetValue(images), e = r.GetValue(epochs), k = r.GetValue(classes);
            if (n < 8) throw new UsageException($"--images must be at least 8, got {n}");
            if (e < 1) throw new UsageException($"--epochs must be at least 1, got {e}");
            var data = Path.Combine(root, "data");
            var run = new RunFolder(Path.Combine(root, "run-" + DateTime.Now.ToString("yyyyMMdd-HHmmss")));
            Console.WriteLine($"writing {n} synthetic 256x256 {(k == 1 ? "lesion images with masks" : "images with 3-class masks")} to {data}");
            if (Directory.Exists(data)) Directory.Delete(data, true);
            if (k == 1) SyntheticLesions.Write(data, n);
            else SyntheticLesions.WriteClasses(data, n, 256);
            var config = new TrainingConfig
            {
                Data = data, Epochs = e, SplitRatio = 0.75, ValRatio = 0.2, TMax = Math.Max(1, e),
                Model = new Models.ModelOptions { NumClasses = k },
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

using System.CommandLine;
using Malunet.Interop;
using Malunet.Inference;
using Malunet.Native;

namespace Malunet.Cli.Commands;

/// <summary>
/// <c>malunet predict</c>: with a <c>.npy</c> input, tensor-level inference for interoperability and golden checks
/// (N x C x H x W float32 already preprocessed in, N x classes x H x W sigmoid probabilities out).
/// </summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var device = new DeviceArguments();
        var weights = new Option<string>("--weights") { Description = "Weights: our .safetensors checkpoint or an official PyTorch .pth", Required = true };
        var input = new Option<string>("--input") { Description = "A .npy float32 tensor N x C x H x W, preprocessed as the official code does", Required = true };
        var output = new Option<string>("--output") { Description = "Where to write the N x classes x H x W probabilities (.npy)", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 8 };
        var cmd = new Command("predict", "Segment with a trained network");
        cmd.Options.Add(weights);
        cmd.Options.Add(input);
        cmd.Options.Add(output);
        cmd.Options.Add(batch);
        model.AddTo(cmd);
        device.AddTo(cmd);
        cmd.SetAction(r =>
        {
            string inPath = r.GetValue(input)!, outPath = r.GetValue(output)!;
            int batchSize = r.GetValue(batch);
            if (batchSize < 1) throw new UsageException($"--batch-size must be at least 1, got {batchSize}");
            model.Bind(r);
            if (!inPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--input {inPath}: expected a .npy tensor");
            if (!outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--output {outPath}: a .npy input gives a .npy output; name it *.npy");
            if (!File.Exists(inPath)) throw new FileNotFoundException($"{inPath}: no such file");
            var dev = device.Resolve(r);
            TorchRuntime.EnsureLoaded();
            var net = model.Load(r, r.GetValue(weights)!);
            using var x = NpyFile.Read(inPath);
            if (x.dim() != 4) throw new InvalidDataException($"{inPath}: expected a 4-D array N x C x H x W, got shape ({string.Join(", ", x.shape)})");
            try { net.CheckInput(x); }
            catch (ArgumentException e) { throw new InvalidDataException($"{inPath}: {e.Message}"); }
            using var y = new TensorPredictor(net, dev, batchSize).Predict(x);
            NpyFile.Write(outPath, y);
            Console.WriteLine($"wrote {outPath} [{string.Join(", ", y.shape)}]");
            return 0;
        });
        return cmd;
    }
}

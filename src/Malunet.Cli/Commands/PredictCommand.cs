using Malunet.Evaluation;
using System.CommandLine;
using System.Globalization;
using System.Text;
using Malunet.Data;
using Malunet.Inference;
using Malunet.Interop;
using Malunet.Native;

namespace Malunet.Cli.Commands;

/// <summary>
/// <c>malunet predict</c>: segment an image, a folder of images, or a <c>.npy</c> tensor. Images give, at each
/// image's original size, <c>&lt;id&gt;_mask.png</c>, <c>&lt;id&gt;_overlay.png</c> (contour on the image) and with
/// <c>--save-probabilities</c> <c>&lt;id&gt;_prob.png</c>, plus <c>summary.csv</c> with the lesion area. A <c>.npy</c>
/// input (N x C x H x W float32, preprocessed as the official code does) gives a <c>.npy</c> of sigmoid outputs.
/// </summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var device = new DeviceArguments();
        var weights = new Option<string?>("--weights") { Description = "Weights: our .safetensors checkpoint or an official PyTorch .pth (default: the bundled ISIC 2017 weights)" };
        var input = new Option<string>("--input") { Description = "An image (JPEG, PNG, BMP, WebP), a folder of images, or a .npy tensor", Required = true };
        var output = new Option<string>("--output") { Description = "Output folder for images; the output .npy for a .npy input", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 8 };
        var threshold = new Option<double>("--threshold") { Description = "Probability threshold of the mask", DefaultValueFactory = _ => 0.5 };
        var tta = new Option<bool>("--tta") { Description = "Average the prediction over horizontal, vertical and both flips" };
        var saveProb = new Option<bool>("--save-probabilities") { Description = "Also write <id>_prob.png (probability x 255)" };
        var noOverlay = new Option<bool>("--no-overlay") { Description = "Do not write <id>_overlay.png" };
        var engineOpt = new Option<string>("--engine") { Description = "torch (TorchSharp) or onnx (ONNX Runtime; --weights is then an exported .onnx)", DefaultValueFactory = _ => "torch" };
        engineOpt.AcceptOnlyFromAmong("torch", "onnx");
        var cmd = new Command("predict", "Segment images (masks, overlays, areas) or a .npy tensor with a trained network");
        foreach (var o in new Option[] { weights, input, output, batch, threshold, tta, saveProb, noOverlay, engineOpt }) cmd.Options.Add(o);
        model.AddTo(cmd);
        device.AddTo(cmd);
        cmd.SetAction(r =>
        {
            string inPath = r.GetValue(input)!, outPath = r.GetValue(output)!;
            int batchSize = r.GetValue(batch);
            double th = r.GetValue(threshold);
            if (batchSize < 1) throw new UsageException($"--batch-size must be at least 1, got {batchSize}");
            if (th <= 0 || th >= 1) throw new UsageException($"--threshold must be in (0, 1), got {th}");
            model.Bind(r);
            if (r.GetValue(engineOpt) == "onnx" && r.GetValue(weights) == null)
                throw new UsageException("--engine onnx needs --weights model.onnx (make one with: malunet export --format onnx)");
            var dev = device.Resolve(r);
            using IInferenceEngine engine = r.GetValue(engineOpt) == "onnx"
                ? new OnnxEngine(ModelArguments.WeightsOrBundled(r.GetValue(weights)), r.GetValue(device.Threads))
                : new TorchEngine(model.Load(r, ModelArguments.WeightsOrBundled(r.GetValue(weights))), dev);
            if (inPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) return PredictTensor(engine, inPath, outPath, batchSize);
            if (!File.Exists(inPath) && !Directory.Exists(inPath)) throw new FileNotFoundException($"{inPath}: no such file or folder");
            if (outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--output names a folder for image inputs");
            var files = Directory.Exists(inPath)
                ? Directory.EnumerateFiles(inPath).Where(f => DatasetScanner.ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    .OrderBy(f => f, StringComparer.Ordinal).ToList()
                : new List<string> { inPath };
            if (files.Count == 0) throw new InvalidDataException($"{inPath}: no images (.jpg, .png, .bmp, .webp, .gif)");
            var predictor = new ImagePredictor(engine, 256, r.GetValue(tta));
            Directory.CreateDirectory(outPath);
            return PredictImages(predictor, files, outPath, batchSize, th, r.GetValue(saveProb), !r.GetValue(noOverlay));
        });
        return cmd;
    }

    private static int PredictTensor(IInferenceEngine engine, string inPath, string outPath, int batchSize)
    {
        if (!File.Exists(inPath)) throw new FileNotFoundException($"{inPath}: no such file");
        if (!outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--output {outPath}: a .npy input gives a .npy output; name it *.npy");
        using var x = NpyFile.Read(inPath);
        if (x.dim() != 4) throw new InvalidDataException($"{inPath}: expected a 4-D array N x C x H x W, got shape ({string.Join(", ", x.shape)})");
        var outputs = new List<TorchSharp.torch.Tensor>();
        try
        {
            for (long start = 0; start < x.shape[0]; start += batchSize)
                outputs.Add(engine.Run(x.narrow(0, start, Math.Min(batchSize, x.shape[0] - start))));
        }
        catch (ArgumentException e) { throw new InvalidDataException($"{inPath}: {e.Message}"); }
        using var y = TorchSharp.torch.cat(outputs, 0);
        NpyFile.Write(outPath, y);
        Console.WriteLine($"wrote {outPath} [{string.Join(", ", y.shape)}] ({engine.Name} engine)");
        return 0;
    }

    private static int PredictImages(ImagePredictor predictor, List<string> files, string outDir, int batchSize, double th, bool saveProb, bool overlay)
    {
        var csv = new StringBuilder("file,id,width,height,lesion_pixels,lesion_fraction\n");
        int failed = 0, written = 0;
        var usedIds = new HashSet<string>(StringComparer.Ordinal);
        ProgressReporter.Run(rep =>
        {
            for (int start = 0; start < files.Count; start += batchSize)
            {
                var loaded = new List<CachedSample>();
                foreach (var f in files.Skip(start).Take(batchSize))
                {
                    try { loaded.Add(predictor.Load(f)); }
                    catch (Exception e) when (e is InvalidDataException or IOException)
                    {
                        failed++;
                        Console.Error.WriteLine($"malunet: {e.Message}");
                    }
                }
                if (loaded.Count == 0) continue;
                var probs = predictor.Predict(loaded);
                for (int i = 0; i < loaded.Count; i++)
                {
                    var s = loaded[i];
                    var id = Path.GetFileNameWithoutExtension(s.Id);
                    if (!usedIds.Add(id)) id = Path.GetFileName(s.Id).Replace('.', '_');
                    var full = ProbabilityResize.Resize(probs[i], s.Size, s.Size, s.OriginalWidth, s.OriginalHeight);
                    var mask = MaskMetrics.Threshold(full, th);
                    long area = mask.LongCount(v => v);
                    MaskOutputs.SaveMask(mask, s.OriginalWidth, s.OriginalHeight, Path.Combine(outDir, id + "_mask.png"));
                    if (saveProb) MaskOutputs.SaveProbabilities(full, s.OriginalWidth, s.OriginalHeight, Path.Combine(outDir, id + "_prob.png"));
                    if (overlay)
                    {
                        try { MaskOutputs.SaveOverlay(ImageDecoder.DecodeRgb(s.Id), mask, Path.Combine(outDir, id + "_overlay.png")); }
                        catch (Exception e) when (e is InvalidDataException or IOException) { failed++; Console.Error.WriteLine($"malunet: {e.Message}"); }
                    }
                    csv.Append(string.Create(CultureInfo.InvariantCulture,
                        $"{Csv(s.Id)},{Csv(id)},{s.OriginalWidth},{s.OriginalHeight},{area},{(double)area / ((long)s.OriginalWidth * s.OriginalHeight):G6}\n"));
                    written++;
                }
                rep.Phase("predicting", Math.Min(start + batchSize, files.Count), files.Count);
            }
            return 0;
        });
        AtomicFile.WriteAllText(Path.Combine(outDir, "summary.csv"), csv.ToString());
        Console.WriteLine($"segmented {written} of {files.Count} image(s) into {outDir}{(failed > 0 ? $"; {failed} failed (listed above)" : "")}");
        return failed > 0 ? 1 : 0;
    }

    private static string Csv(string s) => s.Contains(',') || s.Contains('"') ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}

using Malunet.Models;
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
/// image's original size, <c>&lt;id&gt;_mask.png</c>, <c>&lt;id&gt;_overlay.jpg</c> (contour on the image) and with
/// <c>--save-probabilities</c> <c>&lt;id&gt;_prob.png</c>, plus <c>summary.csv</c> with the lesion area. A <c>.npy</c>
/// input (N x C x H x W float32, preprocessed as the official code does) gives a <c>.npy</c> of sigmoid outputs.
/// </summary>
public static class PredictCommand
{
    public static Command Create()
    {
        var model = new ModelArguments();
        var device = new DeviceArguments();
        var weights = new Option<string?>("--weights") { Description = "Weights: our .safetensors checkpoint, an official PyTorch .pth, or a train --folds folder (its folds' ensemble)" + ModelArguments.BundledDefault };
        var input = new Option<string>("--input") { Description = "An image (JPEG, PNG, BMP, WebP), a folder of images, or a .npy tensor", Required = true };
        var output = new Option<string>("--output") { Description = "Output folder for images; the output .npy for a .npy input", Required = true };
        var batch = new Option<int>("--batch-size") { Description = "Images per forward pass", DefaultValueFactory = _ => 8 };
        var threshold = ThresholdOption.Create("Probability threshold of the mask");
        var tta = new Option<bool>("--tta") { Description = "Average the prediction over horizontal, vertical and both flips" };
        var saveProb = new Option<bool>("--save-probabilities") { Description = "Also write <id>_prob.png (probability x 255)" };
        var noOverlay = new Option<bool>("--no-overlay") { Description = "Do not write <id>_overlay.jpg" };
        var overlayFormat = new Option<string>("--overlay-format") { Description = "jpg (for eyes, small and fast) or png (lossless) overlays; masks are always PNG", DefaultValueFactory = _ => "jpg" };
        overlayFormat.AcceptOnlyFromAmong("jpg", "png");
        var shard = new Option<string?>("--shard") { Description = "Segment only shard I of N (I/N, e.g. $JOB_COMPLETION_INDEX/4) of the sorted files, into the shared --output" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Segment images again whose outputs are already there (default: skip them)" };
        var engineOpt = EngineOption.Create();
        var cmd = new Command("predict", "Segment images (masks, overlays, areas) or a .npy tensor with a trained network");
        var maxPixels = PixelLimitOption.Create();
        foreach (var o in new Option[] { weights, input, output, batch, threshold, tta, saveProb, noOverlay, overlayFormat, shard, overwrite, engineOpt, maxPixels }) cmd.Options.Add(o);
        model.AddTo(cmd);
        device.AddTo(cmd);
        cmd.SetAction((r, cancel) =>
        {
            string inPath = r.GetValue(input)!, outPath = r.GetValue(output)!;
            int batchSize = r.GetValue(batch);
            double th = r.GetValue(threshold);
            if (batchSize < 1) throw new UsageException($"--batch-size must be at least 1, got {batchSize}");
            Shard sh;
            try { sh = r.GetValue(shard) is { } text ? Shard.Parse(text) : Shard.Whole; }
            catch (ArgumentException e) { throw new UsageException(e); }
            model.Bind(r);
            bool images = !inPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase);
            if (!images && !outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
                throw new UsageException($"--output {outPath}: a .npy input gives a .npy output; name it *.npy");
            if (images && !File.Exists(inPath) && !Directory.Exists(inPath)) throw new FileNotFoundException($"{inPath}: no such file or folder");
            if (images && outPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) throw new UsageException("--output names a folder for image inputs");
            PixelLimitOption.Apply(r, maxPixels);
            var engine = device.Engine(r, engineOpt);
            // libtorch on images gets one thread unless told otherwise: the decoding and encoding workers take the
            // other cores (ONNX Runtime's sessions do not spin between operators as libtorch's OpenMP workers do).
            var threads = device.CheckedThreads(r) ?? (images && engine == SegmenterEngine.Torch ? 1 : null);
            var options = new SegmenterOptions { Threshold = th, TestTimeAugmentation = r.GetValue(tta), Engine = engine, Threads = threads, Device = r.GetValue(device.Device)!, BatchSize = batchSize };
            if (!images) return Task.FromResult(PredictTensor(model, r, r.GetValue(weights), options, inPath, outPath, batchSize));
            using var segmenter = model.OpenSegmenter(r, r.GetValue(weights), options);
            var (files, notImages) = Directory.Exists(inPath) ? DatasetScanner.ListFolder(inPath) : ([inPath], []);
            if (files.Count == 0)
                throw new InvalidDataException($"{inPath}: no images ({string.Join(", ", DatasetScanner.ImageExtensions)})" +
                                               (notImages.Count > 0 ? $"; {DatasetScanner.NotImagesLine(notImages)}" : ""));
            var outputs = new PredictionOutputs(!r.GetValue(noOverlay), r.GetValue(overlayFormat)!, r.GetValue(saveProb));
            var wall = System.Diagnostics.Stopwatch.StartNew();
            var result = ProgressReporter.Run(rep => FolderPrediction.Run(segmenter, files, outPath, outputs, sh, batchSize, r.GetValue(overwrite),
                (d, n) => rep.Phase("predicting", d, n), cancel));
            foreach (var f in result.Failures) Console.Error.WriteLine($"malunet: skipped: {f}");
            if (notImages.Count > 0) Console.Error.WriteLine($"malunet: {DatasetScanner.NotImagesLine(notImages)}");
            Console.WriteLine($"segmented {result.Written} image(s) into {outPath}" +
                              (sh.Count > 1 ? $" (shard {sh} of {files.Count} files)" : "") +
                              (result.Skipped > 0 ? $"; {result.Skipped} already done (--overwrite redoes them)" : "") +
                              (result.Failures.Count > 0 ? $"; {result.Failures.Count} failed (listed above)" : "") +
                              (result.SummaryWritten ? "" : "; summary.csv follows when every shard has finished"));
            if (result.Written > 0)
                Console.Error.WriteLine($"{wall.Elapsed.TotalSeconds / result.Written:F3} s per image; per image and thread: " +
                    string.Join(", ", result.StageTimes.Select(kv => $"{kv.Key} {kv.Value.TotalMilliseconds / result.Written:F1} ms")));
            return Task.FromResult(result.Failures.Count > 0 ? 1 : 0);
        });
        return cmd;
    }

    /// <summary>A preprocessed <c>.npy</c> batch file through the network (<see cref="NpyPrediction"/>).</summary>
    private static int PredictTensor(ModelArguments model, ParseResult r, string? weights, SegmenterOptions options, string inPath, string outPath, int batchSize)
    {
        // ONNX Runtime runs the network exported at the batch's own height and width (the torch engine takes any).
        var header = NpyFile.ReadHeader(inPath);
        Segmenter segmenter;
        try { segmenter = model.OpenSegmenter(r, weights, options, header.Shape.Length == 4 ? ((int)header.Shape[2], (int)header.Shape[3]) : null); }
        catch (InputSizeException e) { throw new InvalidDataException($"{inPath}: {e.Message}"); }
        using var _ = segmenter;
        var engine = segmenter.Engine;
        var shape = NpyPrediction.Run(engine, inPath, outPath, batchSize);
        Console.WriteLine($"wrote {outPath} [{string.Join(", ", shape)}] ({engine.Name} engine)");
        return 0;
    }

}

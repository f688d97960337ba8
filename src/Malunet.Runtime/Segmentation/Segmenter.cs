using System.Collections.Concurrent;
using Malunet.Data;
using Malunet.Inference;
using Malunet.Models;

namespace Malunet;

/// <summary>
/// Lesion segmentation in one object: open a network once, then segment image files, bytes or streams into masks at
/// each image's original size (<see cref="SegmentationResult"/>). <c>malunet predict</c>, <c>evaluate</c> and
/// <c>serve</c> run on it. Safe to use from several threads at once: each image's result is the same whichever
/// thread asks.
/// <code>
/// using var segmenter = Segmenter.Open();           // the bundled MALUNet (ISIC 2017) on ONNX Runtime
/// var result = segmenter.Segment("lesion.jpg");
/// result.SaveMask("lesion_mask.png");
/// </code>
/// </summary>
public sealed class Segmenter : IDisposable
{
    private const string ProviderType = "Malunet.Inference.TorchEngineProvider, Malunet";
    private readonly ImagePredictor predictor;

    /// <summary>Runs <paramref name="engine"/> (which the segmenter then owns and disposes) with <paramref name="options"/>.</summary>
    public Segmenter(IInferenceEngine engine, SegmenterOptions? options = null, string? description = null)
    {
        Options = options ?? new SegmenterOptions();
        if (Options.Problem() is { } problem) throw new ArgumentException(problem, nameof(options));
        Engine = engine;
        Description = description ?? engine.Name;
        predictor = new ImagePredictor(engine, engine.InputSize, Options.TestTimeAugmentation);
    }

    /// <summary>
    /// The bundled weights of <see cref="SegmenterOptions.Model"/> trained on <see cref="SegmenterOptions.Dataset"/>
    /// (MALUNet and ISIC 2017 unless asked). On
    /// ONNX Runtime from their ONNX export when there is one; otherwise through the Malunet package.
    /// </summary>
    public static Segmenter Open(SegmenterOptions? options = null) => Open(null, options);

    /// <summary>
    /// <paramref name="weights"/>: an exported <c>.onnx</c> file (ONNX Runtime); with the Malunet package also a
    /// <c>.safetensors</c> checkpoint of ours, an official PyTorch <c>.pth</c> or a <c>train --folds</c> folder (the
    /// mean of its folds); null for the bundled weights. Throws <see cref="FileNotFoundException"/>,
    /// <see cref="InvalidDataException"/> for unreadable weights, <see cref="NotSupportedException"/> when the
    /// Malunet package is needed and absent, and <see cref="KnownAnswerException"/> when the engine computes wrong
    /// answers on this processor.
    /// </summary>
    public static Segmenter Open(string? weights, SegmenterOptions? options = null)
    {
        options ??= new SegmenterOptions();
        if (options.Problem() is { } problem) throw new ArgumentException(problem, nameof(options));
        if (options.Engine == SegmenterEngine.Onnx)
        {
            var onnx = weights ?? BundledWeights.FindOnnx(options.Model, options.Dataset);
            if (onnx != null && onnx.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
                return new Segmenter(new OnnxEngine(onnx, options.Threads), options,
                                     weights == null ? $"{options.Model} ({BundledWeights.Describe(options.Model, options.Dataset)}) on ONNX Runtime" : $"{Path.GetFileName(onnx)} on ONNX Runtime");
        }
        if (weights != null && !File.Exists(weights) && !Directory.Exists(weights)) throw new FileNotFoundException($"{weights}: no such file or folder");
        var provider = Provider() ?? throw new NotSupportedException(
            (weights == null ? $"the bundled {options.Model} weights ({BundledWeights.DatasetTitle(options.Dataset)}) have no ONNX export here" : $"{weights}: not an .onnx file") +
            (options.Engine == SegmenterEngine.Torch ? "; the torch engine" : "; checkpoints and cross-validation folders") +
            " need the Malunet package (libtorch); Malunet.Runtime runs .onnx files and the bundled MALUNet");
        var (engine, description) = provider.Open(weights, options);
        return new Segmenter(engine, options, description);
    }

    /// <summary>The Malunet package's engine provider when its assembly can be loaded, else null.</summary>
    private static IEngineProvider? Provider()
    {
        Type? type;
        try { type = Type.GetType(ProviderType); }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException) { type = null; }
        return type == null ? null : (IEngineProvider)Activator.CreateInstance(type)!;
    }

    /// <summary>The options the segmenter was opened with.</summary>
    public SegmenterOptions Options { get; }

    /// <summary>The network's engine (for batches of preprocessed tensors, as <c>predict</c> runs .npy files).</summary>
    public IInferenceEngine Engine { get; }

    /// <summary>What runs: the weights and the engine, in one line.</summary>
    public string Description { get; }

    /// <summary>The network's input size (images are resized to it and the output back).</summary>
    public int InputSize => predictor.Size;

    /// <summary>The network's classes (1: the paper's lesion probability).</summary>
    public int Classes => predictor.Classes;

    /// <summary>Segments an image file (JPEG, PNG, BMP, WebP, GIF, TIFF). A bad file is an <see cref="InvalidDataException"/> naming it.</summary>
    public SegmentationResult Segment(string path)
    {
        var sample = predictor.Load(path);
        return Finish(sample, predictor.Predict([sample])[0], path, null);
    }

    /// <summary>Segments an image held in memory; <paramref name="name"/> names it in errors and in the result.</summary>
    public SegmentationResult Segment(byte[] image, string name = "image")
    {
        var sample = predictor.Load(image, name);
        return Finish(sample, predictor.Predict([sample])[0], name, image);
    }

    /// <summary>Segments the image a stream holds (read to its end); <paramref name="name"/> names it.</summary>
    public SegmentationResult Segment(Stream image, string name = "image")
    {
        using var copy = new MemoryStream();
        image.CopyTo(copy);
        return Segment(copy.ToArray(), name);
    }

    /// <summary>
    /// Segments many files as a stream: decoding and finishing run on every core while the network runs batches of
    /// <see cref="SegmenterOptions.BatchSize"/>; memory does not grow with the number of files. Each result goes to
    /// <paramref name="each"/> as it is ready (from worker threads, possibly at once, in no set order) and is not
    /// kept. Files that cannot be read are returned, each with its one-line problem; the others go on.
    /// <paramref name="progress"/> gets the number of files done.
    /// </summary>
    public IReadOnlyList<DataProblem> SegmentMany(IReadOnlyList<string> paths, Action<string, SegmentationResult> each,
                                                  IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var failures = new ConcurrentBag<DataProblem>();
        ImagePipeline.Run(paths, Options.BatchSize, predictor.Load, batch => predictor.Predict(batch.Select(b => b.Sample).ToList()),
            (path, sample, probabilities) => each(path, Finish(sample, probabilities, path, null)),
            (path, e) => failures.Add(DataProblem.FromMessage(path, e.Message)),
            progress == null ? null : progress.Report, cancel: cancellationToken);
        return failures.OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
    }

    /// <summary>Decodes a file for <see cref="Predict"/> (the pipelines of the verbs).</summary>
    internal CachedSample Load(string path) => predictor.Load(path);

    /// <summary>Decodes bytes for <see cref="Predict"/>.</summary>
    internal CachedSample Load(byte[] image, string name) => predictor.Load(image, name);

    /// <summary>The network's probabilities for decoded images, one array per image.</summary>
    internal List<float[]> Predict(IReadOnlyList<CachedSample> images) => predictor.Predict(images);

    /// <summary>
    /// The one finishing of every verb: an image's network-size probabilities back to its original size, as a mask
    /// (<c>p &gt;= threshold</c>) or, for several classes, as the class of the largest probability; and the pixels
    /// of each class.
    /// </summary>
    internal SegmentationResult Finish(CachedSample sample, float[] probabilities, string source, byte[]? sourceBytes, double? threshold = null)
    {
        int w = sample.OriginalWidth, h = sample.OriginalHeight, s = sample.Size, classes = predictor.Classes;
        double th = threshold ?? Options.Threshold;
        if (classes == 1)
        {
            var mask = ProbabilityResize.ResizeToMask(probabilities, s, s, w, h, th);
            // Vectorised: a plain loop over the 6 M pixels of a full-resolution mask cost 7% of a predict run's CPU.
            long lesion = mask.AsSpan().Count((byte)255);
            return new SegmentationResult(source, sourceBytes, w, h, 1, th, mask, null, [(long)w * h - lesion, lesion], probabilities, s);
        }
        var labels = ProbabilityResize.ResizeToLabels(probabilities, classes, s, s, w, h);
        var foreground = new byte[labels.Length];
        for (int i = 0; i < labels.Length; i++) foreground[i] = labels[i] != 0 ? (byte)255 : (byte)0;
        return new SegmentationResult(source, sourceBytes, w, h, classes, th, foreground, labels, MaskOutputs.CountClasses(labels, classes), probabilities, s);
    }

    /// <summary>Disposes the engine.</summary>
    public void Dispose() => Engine.Dispose();
}

using System.CommandLine;
using Malunet.Inference;
using Malunet.Models;
using Malunet.Training;
using Malunet.Native;
using static TorchSharp.torch;

namespace Malunet.Cli;

/// <summary>The model options every command accepts, bound to <see cref="ModelOptions"/>.</summary>
public sealed class ModelArguments
{
    public Option<string> Model { get; } = new("--model")
    {
        Description = "Architecture: " + string.Join(", ", ModelCatalog.List().Select(m => m.Name)),
        DefaultValueFactory = _ => "malunet",
    };
    public Option<string?> CList { get; } = new("--c-list") { Description = "Stage widths, comma-separated (malunet default: 8,16,24,32,48,64)" };
    public Option<string> SplitAtt { get; } = new("--split-att") { Description = "Channel-attention heads: fc or conv", DefaultValueFactory = _ => "fc" };
    public Option<bool> Bridge { get; } = new("--bridge") { Description = "Use the SC attention bridge: true or false", HelpName = "true|false", DefaultValueFactory = _ => true };
    public Option<string> BridgeOrder { get; } = new("--bridge-order") { Description = "sab-first (paper) or cab-first", DefaultValueFactory = _ => "sab-first" };
    public Option<int> NumClasses { get; } = new("--num-classes") { Description = "1: binary lesion masks (0/255) and a sigmoid, as the paper; K >= 2: masks of class indices 0..K-1 (8-bit gray or palette PNG; 0 is the background) and a softmax", DefaultValueFactory = _ => 1 };
    public Option<int> InputChannels { get; } = new("--input-channels") { Description = "Input channels", DefaultValueFactory = _ => 3 };

    public Option<string> TrainedOn { get; } = CreateTrainedOn();

    /// <summary>The end of every --weights description: what runs without it.</summary>
    public const string BundledDefault = " (default: the bundled weights of --model trained on --trained-on)";

    private static Option<string> CreateTrainedOn()
    {
        var option = new Option<string>("--trained-on")
        {
            Description = $"The data set of the bundled weights used without --weights: {string.Join(" or ", BundledWeights.Datasets)}",
            DefaultValueFactory = _ => BundledWeights.DefaultDataset,
        };
        option.AcceptOnlyFromAmong([.. BundledWeights.Datasets]);
        return option;
    }

    /// <summary>The options that build the network (--trained-on only picks bundled weights).</summary>
    private IEnumerable<Option> All => new Option[] { Model, CList, SplitAtt, Bridge, BridgeOrder, NumClasses, InputChannels };

    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
        command.Options.Add(TrainedOn);
    }

    /// <summary>True if the user set any model option explicitly.</summary>
    public bool AnyGiven(ParseResult r) => All.Any(o => r.GetResult(o) is { Implicit: false });

    /// <summary>The options, resolved and checked; a bad value is a <see cref="UsageException"/>.</summary>
    public ModelOptions Bind(ParseResult r)
    {
        try
        {
            var name = r.GetValue(Model)!;
            var given = new Option[] { SplitAtt, Bridge, BridgeOrder }.Where(o => r.GetResult(o) is { Implicit: false }).ToList();
            if (given.Count > 0 && !ModelCatalog.TakesBridgeOptions(name))
                throw new UsageException($"{string.Join(", ", given.Select(o => o.Name))} apply to malunet and its ablations, not to --model {name}");
            var cList = r.GetValue(CList);
            return ModelCatalog.Resolve(new ModelOptions
            {
                Model = r.GetValue(Model)!,
                CList = cList == null ? null : ModelOptions.ParseCList(cList),
                SplitAtt = ModelOptions.ParseSplitAtt(r.GetValue(SplitAtt)!),
                Bridge = r.GetValue(Bridge),
                BridgeOrder = ModelOptions.ParseBridgeOrder(r.GetValue(BridgeOrder)!),
                NumClasses = r.GetValue(NumClasses),
                InputChannels = r.GetValue(InputChannels),
            });
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new UsageException(e);
        }
    }

    /// <summary>Builds the network (validating the option combination, e.g. c_list length).</summary>
    public SegmentationModel Create(ParseResult r)
    {
        var o = Bind(r);
        try { return ModelCatalog.Create(o); }
        catch (ArgumentException e) { throw new UsageException(e); }
    }

    /// <summary>
    /// The given --weights, or (said on stderr) the bundled weights of the --model and --trained-on asked for when it is omitted.
    /// </summary>
    public string WeightsOrBundled(ParseResult r, string? given)
    {
        if (!string.IsNullOrEmpty(given)) return given;
        var name = r.GetValue(Model)!;
        var bundled = Bundled(name, r.GetValue(TrainedOn)!, "--weights is required");
        Console.Error.WriteLine($"malunet: using the bundled weights {bundled} ({BundledUse(r)})");
        return bundled;
    }

    private string BundledUse(ParseResult r) => $"{r.GetValue(Model)} {BundledWeights.Describe(r.GetValue(Model)!, r.GetValue(TrainedOn)!)}";

    /// <summary>
    /// The segmenter of the verbs that segment: an .onnx --weights, or without --weights and without options that
    /// change the network the bundled weights (their ONNX export on ONNX Runtime, which loads no libtorch); otherwise
    /// the weights file or folds folder built with the model flags (<see cref="TorchEngineProvider"/>), exported for
    /// ONNX Runtime at <paramref name="exportSize"/> when given (a .npy batch's size).
    /// </summary>
    public Segmenter OpenSegmenter(ParseResult r, string? weights, SegmenterOptions options, (int Height, int Width)? exportSize = null)
    {
        var name = r.GetValue(Model)!;
        options = options with { Model = name, Dataset = r.GetValue(TrainedOn)! };
        try
        {
            if (!string.IsNullOrEmpty(weights) && weights.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            {
                if (options.Engine == SegmenterEngine.Torch) throw new UsageException($"--weights {weights}: an .onnx file runs on ONNX Runtime (--engine onnx), not on libtorch");
                return Segmenter.Open(weights, options);
            }
            bool flagsGiven = All.Any(o => o != Model && r.GetResult(o) is { Implicit: false });
            bool trainedSize = exportSize is null || exportSize == (NetworkInput.DefaultSize, NetworkInput.DefaultSize);
            if (string.IsNullOrEmpty(weights) && !flagsGiven && trainedSize && options.Engine == SegmenterEngine.Onnx && BundledWeights.FindOnnx(name, options.Dataset) is { } bundled)
            {
                Console.Error.WriteLine($"malunet: using the bundled weights {bundled} ({BundledUse(r)})");
                return Segmenter.Open(options);
            }
            var path = WeightsOrBundled(r, weights);
            if (Directory.Exists(path))
            {
                var (ensemble, folds) = TorchEngineProvider.Open(path, options, Bind(r), exportSize);
                Console.Error.WriteLine($"malunet: {folds}");
                return new Segmenter(ensemble, options, folds);
            }
            // A file is read once, by Load, which also says when the file's stored options override the flags.
            var (engine, description) = TorchEngineProvider.Open(Load(r, path), Path.GetFileName(path), options, exportSize);
            return new Segmenter(engine, options, description);
        }
        catch (ArgumentException e) when (e is not InputSizeException) { throw new UsageException(e); }
    }

    /// <summary>
    /// The bundled weights of <paramref name="model"/>; without them, a usage error that starts with
    /// <paramref name="context"/> and names the architectures that have some.
    /// </summary>
    public static string Bundled(string model, string dataset, string context) =>
        BundledWeights.Find(model, dataset)
        ?? throw new UsageException($"{context}: there are no bundled weights for --model {model} " +
                                    (dataset == BundledWeights.DefaultDataset ? "" : $"trained on {BundledWeights.DatasetTitle(dataset)} ") +
                                    $"(weights/{BundledWeights.FileName(model, dataset)}; bundled: {string.Join(", ", BundledWeights.Models(dataset: dataset))})");

    /// <summary>
    /// Loads a weights file: our checkpoints carry their options (a note is printed if flags were also given);
    /// PyTorch files use the flags.
    /// </summary>
    public SegmentationModel Load(ParseResult r, string weights)
    {
        var flags = Bind(r);
        var file = ModelCheckpoint.Read(weights);
        if (file.StoredOptions != null && AnyGiven(r) && !file.StoredOptions.Equals(flags))
            Console.Error.WriteLine($"malunet: note: {weights} stores its model options ({file.StoredOptions}); the model flags are ignored");
        try { return ModelCheckpoint.Load(file, flags); }
        catch (ArgumentException e) { throw new UsageException(e); }
    }
}

using System.CommandLine;
using Malunet.Training;

namespace Malunet.Cli;

/// <summary>
/// The training recipe's flags (<c>train</c>), bound to a <see cref="TrainingConfig"/>: a <c>--config</c> file or the
/// paper's defaults first, then every flag given on the command line.
/// </summary>
public sealed class RecipeArguments
{
    public Option<string?> Data { get; } = new("--data") { Description = "Dataset folder (ISIC 2017/2018 layout, train/images + train/masks, or images/ + masks/)" };
    public Option<string?> Split { get; } = new("--split") { Description = "JSON split file {\"train\": [ids], \"test\": [ids], optional \"val\"}" };
    public Option<double?> SplitRatio { get; } = new("--split-ratio") { Description = "Without --split: fraction of images for training (default 0.7)" };
    public Option<int?> SplitTrain { get; } = new("--split-train") { Description = "Without --split: number of images for training (the paper: 1500 of 2150)" };
    public Option<long?> Seed { get; } = new("--seed") { Description = "Seed for the split, initialisation, order and augmentation (default 42)" };
    public Option<double?> ValRatio { get; } = new("--val-ratio") { Description = "Fraction of the training split held out for selecting the best epoch (default 0.1)" };
    public Option<string?> SelectOn { get; } = new("--select-on") { Description = "val (default) or test (the official protocol: selects on the test split)" };
    public Option<int?> Epochs { get; } = new("--epochs") { Description = "Epochs (default 300)" };
    public Option<int?> Batch { get; } = new("--batch-size") { Description = "Batch size (default 8)" };
    public Option<double?> Lr { get; } = new("--lr") { Description = "AdamW learning rate (default 1e-3)" };
    public Option<double?> WeightDecay { get; } = new("--weight-decay") { Description = "AdamW weight decay (default 1e-2)" };
    public Option<int?> TMax { get; } = new("--t-max") { Description = "Cosine annealing period in epochs (default 50)" };
    public Option<double?> EtaMin { get; } = new("--eta-min") { Description = "Cosine annealing minimum learning rate (default 1e-5)" };
    public Option<double?> Threshold { get; } = new("--threshold") { Description = "Probability threshold for the metrics (default 0.5)" };
    public Option<bool> NoAugment { get; } = new("--no-augment") { Description = "Turn off flips and rotation" };
    public Option<int?> Limit { get; } = new("--limit") { Description = "Quick checks: only the first N training images and N/4 validation and test images" };
    public Option<bool> SkipBad { get; } = new("--skip-bad") { Description = "Leave out unpaired or unreadable files (listed) instead of stopping" };
    public Option<int?> ImageSize { get; } = new("--image-size") { Description = "Network input size, a multiple of 32 (default 256); it travels with the weights" };
    public Option<string?> MaskSuffix { get; } = new("--mask-suffix") { Description = "Pair image X with mask X<SUFFIX> only (default: _segmentation, _Segmentation, _lesion, _mask, _gt or the same name)" };
    public Option<string?> CacheDir { get; } = new("--cache-dir") { Description = CacheDirDescription };

    /// <summary>Where the cache goes by default (<see cref="Malunet.Data.ImageCache.DefaultFolder"/>), for every verb's --cache-dir.</summary>
    public const string CacheDirDescription = "Where decoded images are cached (default $MALUNET_CACHE, else $XDG_CACHE_HOME/malunet, else ~/.cache/malunet)";
    public Option<string?> Config { get; } = new("--config") { Description = "JSON config file (keys as in a run's config.json); flags override it" };
    public Option<string?> Init { get; } = new("--init") { Description = "Fine-tune: start from these weights (our checkpoint, an official .pth, or 'bundled' for the bundled weights of --model) instead of a random initialisation" };

    private IEnumerable<Option> All => new Option[]
    {
        Data, Split, SplitRatio, SplitTrain, Seed, ValRatio, SelectOn, Epochs, Batch, Lr, WeightDecay, TMax, EtaMin, Threshold,
        ImageSize, MaskSuffix, NoAugment, Limit, SkipBad, CacheDir, Config, Init,
    };

    public void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>The recipe asked for (not yet validated); <c>--data</c> is required here or in the config file.</summary>
    public TrainingConfig Bind(ParseResult r, ModelArguments model, DeviceArguments device)
    {
        var c = r.GetValue(Config) is { } file ? TrainingConfig.Load(file) : new TrainingConfig();
        void Set<T>(Option<T?> o, Action<T> apply) where T : struct { if (r.GetValue(o) is { } v) apply(v); }
        void SetText(Option<string?> o, Action<string> apply) { if (r.GetValue(o) is { } v) apply(v); }
        SetText(Data, v => c.Data = v);
        if (string.IsNullOrEmpty(c.Data)) throw new UsageException("--data is required (or a --config that names it)");
        SetText(Split, v => c.Split = v);
        Set(SplitRatio, v => c.SplitRatio = v);
        Set(SplitTrain, v => c.SplitTrainCount = v);
        Set(Seed, v => c.Seed = v);
        Set(ValRatio, v => c.ValRatio = v);
        SetText(SelectOn, v => c.SelectOn = v);
        Set(Epochs, v => c.Epochs = v);
        Set(Batch, v => c.BatchSize = v);
        Set(Lr, v => c.Lr = v);
        Set(WeightDecay, v => c.WeightDecay = v);
        Set(TMax, v => c.TMax = v);
        Set(EtaMin, v => c.EtaMin = v);
        Set(Threshold, v => c.Threshold = v);
        if (r.GetValue(NoAugment)) c.Augment = false;
        Set(Limit, v => c.Limit = v);
        if (r.GetValue(SkipBad)) c.SkipBad = true;
        SetText(CacheDir, v => c.CacheDir = v);
        Set(ImageSize, v => c.ImageSize = v);
        SetText(MaskSuffix, v => c.MaskSuffix = v);
        SetText(Init, v => c.Init = v);
        // Model flags win over a config file; without a config file the flags (or their defaults) apply.
        if (r.GetValue(Config) == null || model.AnyGiven(r)) c.Model = model.Bind(r);
        c.Device = r.GetValue(device.Device)!;
        c.Threads = r.GetValue(device.Threads);
        return c;
    }
}

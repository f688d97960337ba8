using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Malunet.Models;

namespace Malunet.Training;

/// <summary>
/// Everything a training run depends on; written to <c>config.json</c> in the run folder and read back by
/// <c>--resume</c> and <c>--config</c>. Defaults are the paper's recipe (Section IV-A) and the official
/// <c>config_setting.py</c>.
/// </summary>
public sealed class TrainingConfig
{
    /// <summary>The dataset folder (any layout <c>DatasetScanner</c> knows).</summary>
    public string Data { get; set; } = "";
    /// <summary>A JSON split file; null: a split made with <see cref="SplitRatio"/> and <see cref="Seed"/>.</summary>
    public string? Split { get; set; }
    /// <summary>The training share when no split file is given.</summary>
    public double SplitRatio { get; set; } = 0.7;
    /// <summary>An exact number of training images instead of <see cref="SplitRatio"/>.</summary>
    public int? SplitTrainCount { get; set; }
    /// <summary>The seed of the split, the initialisation and the augmentation.</summary>
    public long Seed { get; set; } = 42;
    /// <summary>The share of the training images held out to select the epoch (lowest validation loss).</summary>
    public double ValRatio { get; set; } = 0.1;
    /// <summary><c>val</c> (default: a held-out part of the training split) or <c>test</c> (the official protocol).</summary>
    public string SelectOn { get; set; } = "val";
    /// <summary>Epochs to train (the paper: 300).</summary>
    public int Epochs { get; set; } = 300;
    /// <summary>Images per batch.</summary>
    public int BatchSize { get; set; } = 8;
    /// <summary>AdamW's learning rate.</summary>
    public double Lr { get; set; } = 1e-3;
    /// <summary>AdamW's beta1.</summary>
    public double Beta1 { get; set; } = 0.9;
    /// <summary>AdamW's beta2.</summary>
    public double Beta2 { get; set; } = 0.999;
    /// <summary>AdamW's epsilon.</summary>
    public double Eps { get; set; } = 1e-8;
    /// <summary>AdamW's (decoupled) weight decay.</summary>
    public double WeightDecay { get; set; } = 1e-2;
    /// <summary>The cosine schedule's period in epochs.</summary>
    public int TMax { get; set; } = 50;
    /// <summary>The cosine schedule's lowest learning rate.</summary>
    public double EtaMin { get; set; } = 1e-5;
    /// <summary>The BCE term's weight in the loss.</summary>
    public double BceWeight { get; set; } = 1.0;
    /// <summary>The Dice term's weight in the loss.</summary>
    public double DiceWeight { get; set; } = 1.0;
    /// <summary>The Dice term's smoothing constant.</summary>
    public double DiceSmooth { get; set; } = 1.0;
    /// <summary>The probability threshold of the metrics.</summary>
    public double Threshold { get; set; } = 0.5;
    /// <summary>The square size images are trained at.</summary>
    public int ImageSize { get; set; } = 256;
    /// <summary>Flips and rotation during training.</summary>
    public bool Augment { get; set; } = true;
    /// <summary>cpu, or cuda[:N].</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>libtorch's threads; null: its own choice.</summary>
    public int? Threads { get; set; }
    /// <summary>Where decoded images are cached; null: the default cache folder.</summary>
    public string? CacheDir { get; set; }
    /// <summary>The one mask suffix to pair images with (<c>--mask-suffix</c>); null: the common ones.</summary>
    public string? MaskSuffix { get; set; }
    /// <summary>Leave unreadable files out (each named) instead of stopping.</summary>
    public bool SkipBad { get; set; }
    /// <summary>Quick runs: only the first N training images and N/4 validation and test images; null = all.</summary>
    public int? Limit { get; set; }
    /// <summary>Example images drawn in panels.png.</summary>
    public int Panels { get; set; } = 4;
    /// <summary>Fine-tuning: the weights file the network starts from (<c>--init</c>); null = random initialisation.</summary>
    public string? Init { get; set; }

    /// <summary>The network's options.</summary>
    [JsonIgnore] public ModelOptions Model { get; set; } = new();

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>The configuration as JSON (config.json).</summary>
    public JsonObject ToJson()
    {
        var o = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        o["model"] = Model.ToJson();
        return o;
    }

    /// <summary>The configuration <see cref="ToJson"/> wrote.</summary>
    public static TrainingConfig FromJson(JsonNode node)
    {
        var o = node.AsObject();
        var c = o.Deserialize<TrainingConfig>(Json) ?? throw new InvalidDataException("empty training config");
        if (o["model"] is JsonObject m) c.Model = ModelOptions.FromJson(m);
        return c;
    }

    /// <summary>Reads a run's config.json.</summary>
    public static TrainingConfig Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such config file");
        try { return FromJson(JsonNode.Parse(File.ReadAllText(path))!); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a valid training config ({e.Message})"); }
    }

    /// <summary>Throws ArgumentException with a one-line reason for an impossible value.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new InvalidOptionException("epochs", $"must be at least 1, got {Epochs}");
        if (BatchSize < 1) throw new InvalidOptionException("batch-size", $"must be at least 1, got {BatchSize}");
        if (Lr <= 0) throw new InvalidOptionException("lr", $"must be positive, got {Lr}");
        if (TMax < 1) throw new InvalidOptionException("t-max", $"must be at least 1, got {TMax}");
        if (ValRatio < 0 || ValRatio >= 1) throw new InvalidOptionException("val-ratio", $"must be in [0, 1), got {ValRatio}");
        if (SelectOn is not ("val" or "test")) throw new InvalidOptionException("select-on", $"must be val or test, not '{SelectOn}'");
        if (SelectOn == "val" && ValRatio == 0) throw new InvalidOptionException("select-on", "val needs a val-ratio above 0 (or a split file with \"val\")");
        if (ImageSize % 32 != 0 || ImageSize < 32) throw new InvalidOptionException("image-size", $"must be a multiple of 32, got {ImageSize}");
        if (Evaluation.MaskMetrics.ThresholdProblem(Threshold) is { } problem) throw new InvalidOptionException("threshold", problem);
        if (Limit is < 1) throw new InvalidOptionException("limit", $"must be at least 1, got {Limit}");
        // Class-index masks are 8-bit: 256 classes at most.
        if (Model.NumClasses is < 1 or > 256) throw new InvalidOptionException("num-classes", $"must be 1 (binary masks, the paper) or 2 to 256 (class-index masks), got {Model.NumClasses}");
    }
}

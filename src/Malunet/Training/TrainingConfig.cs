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
    public string Data { get; set; } = "";
    public string? Split { get; set; }
    public double SplitRatio { get; set; } = 0.7;
    public int? SplitTrainCount { get; set; }
    public long Seed { get; set; } = 42;
    public double ValRatio { get; set; } = 0.1;
    /// <summary><c>val</c> (default: a held-out part of the training split) or <c>test</c> (the official protocol).</summary>
    public string SelectOn { get; set; } = "val";
    public int Epochs { get; set; } = 300;
    public int BatchSize { get; set; } = 8;
    public double Lr { get; set; } = 1e-3;
    public double Beta1 { get; set; } = 0.9;
    public double Beta2 { get; set; } = 0.999;
    public double Eps { get; set; } = 1e-8;
    public double WeightDecay { get; set; } = 1e-2;
    public int TMax { get; set; } = 50;
    public double EtaMin { get; set; } = 1e-5;
    public double BceWeight { get; set; } = 1.0;
    public double DiceWeight { get; set; } = 1.0;
    public double DiceSmooth { get; set; } = 1.0;
    public double Threshold { get; set; } = 0.5;
    public int ImageSize { get; set; } = 256;
    public bool Augment { get; set; } = true;
    public string Device { get; set; } = "cpu";
    public int? Threads { get; set; }
    public string? CacheDir { get; set; }
    /// <summary>The one mask suffix to pair images with (<c>--mask-suffix</c>); null: the common ones.</summary>
    public string? MaskSuffix { get; set; }
    public bool SkipBad { get; set; }
    /// <summary>Quick runs: only the first N training images and N/4 validation and test images; null = all.</summary>
    public int? Limit { get; set; }
    public int Panels { get; set; } = 4;
    /// <summary>Fine-tuning: the weights file the network starts from (<c>--init</c>); null = random initialisation.</summary>
    public string? Init { get; set; }

    [JsonIgnore] public ModelOptions Model { get; set; } = new();

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public JsonObject ToJson()
    {
        var o = JsonSerializer.SerializeToNode(this, Json)!.AsObject();
        o["model"] = Model.ToJson();
        return o;
    }

    public static TrainingConfig FromJson(JsonNode node)
    {
        var o = node.AsObject();
        var c = o.Deserialize<TrainingConfig>(Json) ?? throw new InvalidDataException("empty training config");
        if (o["model"] is JsonObject m) c.Model = ModelOptions.FromJson(m);
        return c;
    }

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

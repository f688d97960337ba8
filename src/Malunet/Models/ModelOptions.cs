using System.Text.Json.Nodes;
using Malunet.Layers;

namespace Malunet.Models;

/// <summary>
/// Everything needed to rebuild a network: the architecture name and its options. The same options are accepted
/// by every command (<c>--model</c>, <c>--c-list</c>, ...) and stored inside our checkpoints, so a checkpoint
/// reloads without flags.
/// </summary>
public sealed record ModelOptions
{
    /// <summary>Architecture name in <see cref="ModelCatalog"/>, e.g. <c>malunet</c>.</summary>
    public string Model { get; init; } = "malunet";
    /// <summary>Stage widths; null means the architecture's default (MALUNet: 8,16,24,32,48,64).</summary>
    public IReadOnlyList<long>? CList { get; init; }
    /// <summary>MALUNet's channel-attention heads: fully connected (the paper) or 1-D convolutions.</summary>
    public SplitAttention SplitAtt { get; init; } = SplitAttention.Fc;
    /// <summary>Whether the SC attention bridge (SAB and CAB) fuses the encoder stages (the paper: true).</summary>
    public bool Bridge { get; init; } = true;
    /// <summary>The bridge's order: spatial then channel attention (the paper) or the reverse.</summary>
    public BridgeOrder BridgeOrder { get; init; } = BridgeOrder.SabFirst;
    /// <summary>1: a sigmoid lesion probability (the paper); K &gt;= 2: softmax over K classes, 0 the background.</summary>
    public int NumClasses { get; init; } = 1;
    /// <summary>Channels of the input image (3: RGB).</summary>
    public int InputChannels { get; init; } = 3;

    /// <summary>The command-line spelling of a split-attention kind.</summary>
    public static string Format(SplitAttention s) => s == SplitAttention.Fc ? "fc" : "conv";
    /// <summary>The command-line spelling of a bridge order.</summary>
    public static string Format(BridgeOrder o) => o == BridgeOrder.SabFirst ? "sab-first" : "cab-first";

    /// <summary>Reads fc or conv.</summary>
    public static SplitAttention ParseSplitAtt(string s) => s.ToLowerInvariant() switch
    {
        "fc" => SplitAttention.Fc,
        "conv" => SplitAttention.Conv,
        _ => throw new InvalidOptionException("split-att", $"must be fc or conv, not '{s}'"),
    };

    /// <summary>Reads sab-first or cab-first.</summary>
    public static BridgeOrder ParseBridgeOrder(string s) => s.ToLowerInvariant() switch
    {
        "sab-first" or "b" => BridgeOrder.SabFirst,
        "cab-first" or "a" => BridgeOrder.CabFirst,
        _ => throw new InvalidOptionException("bridge-order", $"must be sab-first or cab-first, not '{s}'"),
    };

    /// <summary>Reads comma-separated positive stage widths.</summary>
    public static IReadOnlyList<long> ParseCList(string s)
    {
        var parts = s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var list = new List<long>();
        foreach (var p in parts)
        {
            if (!long.TryParse(p, out var v) || v <= 0)
                throw new InvalidOptionException("c-list", $"must be comma-separated positive integers, not '{s}'");
            list.Add(v);
        }
        return list;
    }

    /// <summary>The options as JSON (our checkpoints' metadata and config.json).</summary>
    public JsonObject ToJson()
    {
        var o = new JsonObject
        {
            ["model"] = Model,
            ["c_list"] = CList == null ? null : new JsonArray(CList.Select(c => (JsonNode)c).ToArray()),
            ["split_att"] = Format(SplitAtt),
            ["bridge"] = Bridge,
            ["bridge_order"] = Format(BridgeOrder),
            ["num_classes"] = NumClasses,
            ["input_channels"] = InputChannels,
        };
        return o;
    }

    /// <summary>The options <see cref="ToJson"/> wrote; missing fields take their defaults.</summary>
    public static ModelOptions FromJson(JsonNode node)
    {
        var o = node.AsObject();
        return new ModelOptions
        {
            Model = o["model"]?.GetValue<string>() ?? "malunet",
            CList = o["c_list"] is JsonArray a ? a.Select(v => v!.GetValue<long>()).ToArray() : null,
            SplitAtt = ParseSplitAtt(o["split_att"]?.GetValue<string>() ?? "fc"),
            Bridge = o["bridge"]?.GetValue<bool>() ?? true,
            BridgeOrder = ParseBridgeOrder(o["bridge_order"]?.GetValue<string>() ?? "sab-first"),
            NumClasses = o["num_classes"]?.GetValue<int>() ?? 1,
            InputChannels = o["input_channels"]?.GetValue<int>() ?? 3,
        };
    }

    /// <summary>The JSON form, on one line.</summary>
    public override string ToString() => ToJson().ToJsonString();

    /// <summary>Equal when their JSON forms are.</summary>
    public bool Equals(ModelOptions? other) => other is not null && ToString() == other.ToString();
    /// <summary>The JSON form's hash.</summary>
    public override int GetHashCode() => ToString().GetHashCode();
}

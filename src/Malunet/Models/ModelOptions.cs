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
    public SplitAttention SplitAtt { get; init; } = SplitAttention.Fc;
    public bool Bridge { get; init; } = true;
    public BridgeOrder BridgeOrder { get; init; } = BridgeOrder.SabFirst;
    public int NumClasses { get; init; } = 1;
    public int InputChannels { get; init; } = 3;

    public static string Format(SplitAttention s) => s == SplitAttention.Fc ? "fc" : "conv";
    public static string Format(BridgeOrder o) => o == BridgeOrder.SabFirst ? "sab-first" : "cab-first";

    public static SplitAttention ParseSplitAtt(string s) => s.ToLowerInvariant() switch
    {
        "fc" => SplitAttention.Fc,
        "conv" => SplitAttention.Conv,
        _ => throw new InvalidOptionException("split-att", $"must be fc or conv, not '{s}'"),
    };

    public static BridgeOrder ParseBridgeOrder(string s) => s.ToLowerInvariant() switch
    {
        "sab-first" or "b" => BridgeOrder.SabFirst,
        "cab-first" or "a" => BridgeOrder.CabFirst,
        _ => throw new InvalidOptionException("bridge-order", $"must be sab-first or cab-first, not '{s}'"),
    };

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

    public override string ToString() => ToJson().ToJsonString();

    public bool Equals(ModelOptions? other) => other is not null && ToString() == other.ToString();
    public override int GetHashCode() => ToString().GetHashCode();
}

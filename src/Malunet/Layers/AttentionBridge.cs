using Malunet.Interop;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>Which attention of the <see cref="AttentionBridge"/> acts first.</summary>
public enum BridgeOrder
{
    /// <summary>SAB then CAB: the paper's choice (Table V, order "B") and the official code.</summary>
    SabFirst,
    /// <summary>CAB then SAB (Table V, order "A").</summary>
    CabFirst,
}

/// <summary>
/// The SC attention bridge that fuses encoder stages 1-5 before they reach the decoder (paper Section III-D,
/// Fig. 6; the official <c>SC_Att_Bridge</c>). With the default order each stage t becomes
/// <c>s = SAB(t)·t + t</c>, then <c>out = CAB(s)·s + SAB(t)·t</c>: each attention is applied with a residual
/// connection, and the output also keeps the spatially attended features. <see cref="BridgeOrder.CabFirst"/>
/// swaps the roles of the two attentions. Either attention can be used alone (<c>bu-sab</c>, <c>bu-cab</c>),
/// then as <c>out = att(t)·t + t</c>. Parameter names: <c>catt</c>, <c>satt</c>.
/// </summary>
public sealed class AttentionBridge : nn.Module<Tensor[], Tensor[]>, IOnnxMultiExportable
{
    private readonly ChannelAttentionBridge? catt;
    private readonly SpatialAttentionBridge? satt;
    private readonly BridgeOrder order;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public AttentionBridge(IReadOnlyList<long> stageChannels, SplitAttention split = SplitAttention.Fc,
                           BridgeOrder order = BridgeOrder.SabFirst, bool useChannel = true, bool useSpatial = true,
                           string name = "AttentionBridge") : base(name)
    {
        if (!useChannel && !useSpatial) throw new ArgumentException("an attention bridge needs at least one attention");
        this.order = order;
        if (useChannel) catt = new ChannelAttentionBridge(stageChannels, split);
        if (useSpatial) satt = new SpatialAttentionBridge();
        RegisterComponents();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor[] forward(Tensor[] stages) => Forward(stages, null);

    /// <summary>The bridge, reporting <c>bridge_satt{i}</c> and <c>bridge_catt{i}</c> (B x C_i) to <paramref name="record"/>.</summary>
    public Tensor[] Forward(Tensor[] stages, ActivationRecorder? record)
    {
        using var scope = NewDisposeScope();
        Tensor[] Spatial(Tensor[] t)
        {
            var maps = satt!.call(t);
            for (int i = 0; i < maps.Length; i++) record?.Invoke($"bridge_satt{i + 1}", maps[i]);
            return maps;
        }
        Tensor[] Channel(Tensor[] t)
        {
            var weights = catt!.call(t);
            for (int i = 0; i < weights.Length; i++) record?.Invoke($"bridge_catt{i + 1}", weights[i].flatten(1));
            return weights;
        }
        var result = Compose(stages, Spatial, Channel, (a, b) => a * b, (a, b) => a + b);
        foreach (var r in result) r.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string[] ExportOnnx(OnnxGraphBuilder g, string[] stages) =>
        Compose(stages, t => satt!.ExportOnnx(g, t), t => catt!.ExportOnnx(g, t), g.Mul, g.Add);

    /// <summary>
    /// The bridge's arithmetic, shared by the TorchSharp forward pass (T = tensor) and the ONNX export (T = value
    /// name): the first attention with a residual, then the second one plus the first one's attended features.
    /// </summary>
    private T[] Compose<T>(T[] stages, Func<T[], T[]> spatial, Func<T[], T[]> channel, Func<T, T, T> mul, Func<T, T, T> add)
    {
        Func<T[], T[]>? first, second;
        if (catt == null) (first, second) = (spatial, null);
        else if (satt == null) (first, second) = (channel, null);
        else if (order == BridgeOrder.SabFirst) (first, second) = (spatial, channel);
        else (first, second) = (channel, spatial);
        var a = first(stages);
        var attended = stages.Select((t, i) => mul(a[i], t)).ToArray();
        var withResidual = attended.Select((t, i) => add(t, stages[i])).ToArray();
        if (second == null) return withResidual;
        var b = second(withResidual);
        return withResidual.Select((t, i) => add(mul(b[i], t), attended[i])).ToArray();
    }
}

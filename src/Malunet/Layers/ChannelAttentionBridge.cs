using Malunet.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>How <see cref="ChannelAttentionBridge"/> maps the fused descriptor to each stage's channel weights.</summary>
public enum SplitAttention
{
    /// <summary>One <c>nn.Linear(sum C, C_i)</c> per stage (the official default).</summary>
    Fc,
    /// <summary>One 1x1 <c>nn.Conv1d(sum C, C_i)</c> per stage (same function, different weight layout).</summary>
    Conv,
}

/// <summary>
/// Channel Attention Bridge, CAB (paper Section III-D, Fig. 6 bottom). Global average pooling of every encoder
/// stage gives one descriptor per channel; the descriptors of all stages are concatenated (sum C values) and
/// mixed by a shared 1-D convolution (kernel 3, no bias), so every stage's attention sees all stages. One fully
/// connected layer per stage (<see cref="SplitAttention"/>) then maps the fused descriptor to that stage's C_i
/// channel weights, squashed by a sigmoid. Returns B x C_i x 1 x 1 tensors (the official module expands them to
/// the full map; broadcasting gives the same products). Parameter names equal the official
/// <c>Channel_Att_Bridge</c> (<c>get_all_att</c>, <c>att1..attN</c>).
/// </summary>
public sealed class ChannelAttentionBridge : nn.Module<Tensor[], Tensor[]>, IOnnxMultiExportable
{
    private readonly AdaptiveAvgPool2d avgpool;
    private readonly Conv1d get_all_att;
    // A plain list, not a ModuleList, so the heads are registered only under their official names att1..attN.
    private readonly List<nn.Module<Tensor, Tensor>> heads = new();
    private readonly SplitAttention split;

    /// <param name="stageChannels">C_1..C_N of the bridged stages (MALUNet: the first five widths).</param>
    public ChannelAttentionBridge(IReadOnlyList<long> stageChannels, SplitAttention split = SplitAttention.Fc,
                                  string name = "ChannelAttentionBridge") : base(name)
    {
        this.split = split;
        long sum = stageChannels.Sum();
        avgpool = nn.AdaptiveAvgPool2d(1);
        get_all_att = nn.Conv1d(1, 1, 3, padding: 1, bias: false);
        RegisterComponents();
        // Registered one by one so the names are att1..attN, as in the official state_dict.
        for (int i = 0; i < stageChannels.Count; i++)
        {
            nn.Module<Tensor, Tensor> head = split == SplitAttention.Fc
                ? nn.Linear(sum, stageChannels[i])
                : nn.Conv1d(sum, stageChannels[i], 1);
            register_module($"att{i + 1}", head);
            heads.Add(head);
        }
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor[] forward(Tensor[] stages)
    {
        using var scope = NewDisposeScope();
        // B x sumC x 1 x 1 -> B x 1 x sumC: the channel descriptors of all stages as one 1-D signal.
        var descriptor = torch.cat(stages.Select(t => avgpool.call(t)).ToArray(), 1).squeeze(-1).transpose(-1, -2);
        var fused = get_all_att.call(descriptor);
        if (split == SplitAttention.Conv) fused = fused.transpose(-1, -2); // B x sumC x 1 for Conv1d heads
        var result = new Tensor[stages.Length];
        for (int i = 0; i < stages.Length; i++)
        {
            var att = torch.sigmoid(heads[i].call(fused)); // fc: B x 1 x C_i; conv: B x C_i x 1
            if (split == SplitAttention.Fc) att = att.transpose(-1, -2);
            result[i] = att.unsqueeze(-1).MoveToOuterDisposeScope();
        }
        return result;
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string[] ExportOnnx(OnnxGraphBuilder g, string[] stages)
    {
        var pooled = stages.Select(t => g.Node("GlobalAveragePool", new[] { t })).ToArray();
        var descriptor = g.Node("Reshape", new[] { g.Node("Concat", pooled, OnnxGraphBuilder.Int("axis", 1)), g.Int64s(0, 1, -1) });
        var fused = g.Conv1d(descriptor, get_all_att);
        if (split == SplitAttention.Conv) fused = g.Node("Transpose", new[] { fused }, OnnxGraphBuilder.Ints("perm", 0, 2, 1));
        return heads.Select(h =>
        {
            var att = g.Sigmoid(h switch
            {
                TorchSharp.Modules.Linear l => g.Linear(fused, l),
                TorchSharp.Modules.Conv1d c => g.Conv1d(fused, c),
                _ => throw new NotSupportedException(),
            });
            // fc: B x 1 x C_i, conv: B x C_i x 1; both become B x C_i x 1 x 1.
            return g.Node("Reshape", new[] { att, g.Int64s(0, -1, 1, 1) });
        }).ToArray();
    }
}

using Malunet.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Malunet.Layers;

/// <summary>
/// External attention block with two 1-D "memory units" (paper Section III-C, Fig. 5; the official <c>EAblock</c>).
/// <para>
/// <c>y = GELU(x + GN(Conv1x1(M_v · DN(M_k · Conv1x1(x)))))</c>: the features are flattened to C x N (N = H·W),
/// <c>linear_0</c> (memory unit M_k, a 1x1 Conv1d C -> K) scores every position against K memory slots, a softmax
/// over the N positions is followed by a normalisation over the K slots (the paper's double normalisation), and
/// <c>linear_1</c> (M_v, K -> C) reads the memory back.
/// </para>
/// <para>
/// MALUNet's <b>inverted</b> external attention (IEA) uses K = 4C memory units (<see cref="ForInverted"/>); the
/// original external attention of EAMLP uses a fixed K = 64 (<see cref="ForOriginal"/>), used by the ablation model
/// <c>bu-ea</c>.
/// </para>
/// <para>
/// The official constructor makes <c>linear_1.weight</c> a permuted view of <c>linear_0.weight</c>. That tie survives
/// only on CPU and is broken by <c>.cuda()</c>, so the official (GPU) training treats them as two parameters that
/// merely start as transposes. This implementation does the same: two independent parameters,
/// <c>linear_0 = linear_1ᵀ</c> at initialisation (<see cref="TieInitialMemoryUnits"/>).
/// </para>
/// </summary>
public sealed class ExternalAttention : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Conv2d conv1;
    private readonly Conv1d linear_0;
    private readonly Conv1d linear_1;
    private readonly Conv2d conv2;
    private readonly GroupNorm norm_layer;

    /// <summary>Number of memory units K.</summary>
    public long MemoryUnits { get; }

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public ExternalAttention(long channels, long memoryUnits, string name = "ExternalAttention") : base(name)
    {
        MemoryUnits = memoryUnits;
        conv1 = nn.Conv2d(channels, channels, 1);
        linear_0 = nn.Conv1d(channels, memoryUnits, 1, bias: false);
        linear_1 = nn.Conv1d(memoryUnits, channels, 1, bias: false);
        conv2 = nn.Conv2d(channels, channels, 1, bias: false);
        norm_layer = nn.GroupNorm(4, channels);
        RegisterComponents();
    }

    /// <summary>IEA, MALUNet's block: 4C memory units.</summary>
    public static ExternalAttention ForInverted(long channels) => new(channels, 4 * channels);

    /// <summary>EA as in EAMLP (Guo et al.): 64 memory units whatever the width.</summary>
    public static ExternalAttention ForOriginal(long channels) => new(channels, 64);

    /// <summary>Sets <c>linear_0.weight = linear_1.weight.permute(1,0,2)</c> (a copy), as the official code starts.</summary>
    public void TieInitialMemoryUnits()
    {
        using var _ = torch.no_grad();
        linear_0.weight!.copy_(linear_1.weight!.permute(1, 0, 2));
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var shape = x.shape;
        long b = shape[0], c = shape[1], h = shape[2], w = shape[3];
        var flat = conv1.call(x).reshape(b, c, h * w);
        var attn = F.softmax(linear_0.call(flat), -1);
        attn = attn.div(attn.sum(1, keepdim: true).add(1e-9));
        var read = linear_1.call(attn).reshape(b, c, h, w);
        var y = norm_layer.call(conv2.call(read)).add(x);
        return F.gelu(y).MoveToOuterDisposeScope();
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string ExportOnnx(OnnxGraphBuilder g, string x)
    {
        long c = conv1.in_channels;
        var flat = g.Node("Reshape", new[] { g.Conv(x, conv1), g.Int64s(0, c, -1) });
        var attn = g.Node("Softmax", new[] { g.Conv1d(flat, linear_0) }, OnnxGraphBuilder.Int("axis", -1));
        var sum = g.Node("ReduceSum", new[] { attn, g.Int64s(1) }, OnnxGraphBuilder.Int("keepdims", 1));
        attn = g.Node("Div", new[] { attn, g.Add(sum, g.Scalar(1e-9f)) });
        var read = g.Node("Reshape", new[] { g.Conv1d(attn, linear_1), g.Node("Shape", new[] { x }) });
        return g.Gelu(g.Add(g.GroupNorm(g.Conv(read, conv2), norm_layer), x));
    }
}

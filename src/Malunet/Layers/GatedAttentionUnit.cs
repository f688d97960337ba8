using Malunet.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>
/// Gated attention unit, the second half of DGA (paper Section III-B, Fig. 4 right):
/// <c>out = GELU(DW3(sigmoid(DW3(x)) * GELU(DW5(x)))) + Conv1x1(x)</c>, where DWk is a
/// <see cref="DepthwiseSeparableConv"/> with a k x k depthwise kernel. The sigmoid branch gates the GELU branch
/// element-wise; the 1x1 convolution is the shortcut that also changes the width to <c>outChannels</c>.
/// Parameter names (<c>w1</c>, <c>w2</c>, <c>wo</c>, <c>cw</c>) equal the official <c>GatedAttentionUnit</c>.
/// </summary>
public sealed class GatedAttentionUnit : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Sequential w1;
    private readonly Sequential w2;
    private readonly Sequential wo;
    private readonly Conv2d cw;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public GatedAttentionUnit(long inChannels, long outChannels, long kernelSize = 3, string name = "GatedAttentionUnit")
        : base(name)
    {
        w1 = nn.Sequential(new DepthwiseSeparableConv(inChannels, inChannels, kernelSize), nn.Sigmoid());
        w2 = nn.Sequential(new DepthwiseSeparableConv(inChannels, inChannels, kernelSize + 2), nn.GELU());
        wo = nn.Sequential(new DepthwiseSeparableConv(inChannels, outChannels, kernelSize), nn.GELU());
        cw = nn.Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        // Out-of-place: sigmoid's backward needs its own output.
        var gated = w1.call(x).mul(w2.call(x));
        return wo.call(gated).add(cw.call(x)).MoveToOuterDisposeScope();
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string ExportOnnx(OnnxGraphBuilder g, string x) =>
        g.Add(g.Module(g.Mul(g.Module(x, w1), g.Module(x, w2)), wo), g.Conv(x, cw));
}

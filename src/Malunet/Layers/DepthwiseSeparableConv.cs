using Malunet.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Layers;

/// <summary>
/// Depthwise separable convolution as MALUNet uses it (paper Fig. 4, the "DW" boxes of the gated attention unit):
/// a depthwise k x k convolution (one filter per channel), GroupNorm(4), then a pointwise 1x1 convolution that
/// mixes channels and maps <c>inChannels</c> to <c>outChannels</c>. There is no activation inside; callers add one.
/// Parameter names (<c>conv1</c>, <c>norm_layer</c>, <c>conv2</c>) equal the official <c>DepthWiseConv2d</c>.
/// </summary>
public sealed class DepthwiseSeparableConv : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Conv2d conv1;
    private readonly GroupNorm norm_layer;
    private readonly Conv2d conv2;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public DepthwiseSeparableConv(long inChannels, long outChannels, long kernelSize = 3, long? padding = null,
                                  long dilation = 1, string name = "DepthwiseSeparableConv") : base(name)
    {
        conv1 = nn.Conv2d(inChannels, inChannels, kernelSize, padding: padding ?? kernelSize / 2,
                          dilation: dilation, groups: inChannels);
        norm_layer = nn.GroupNorm(4, inChannels);
        conv2 = nn.Conv2d(inChannels, outChannels, 1);
        RegisterComponents();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return conv2.call(norm_layer.call(conv1.call(x))).MoveToOuterDisposeScope();
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string ExportOnnx(OnnxGraphBuilder g, string x) =>
        g.Conv(g.GroupNorm(g.Conv(x, conv1), norm_layer), conv2);
}

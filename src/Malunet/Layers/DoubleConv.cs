using Malunet.Interop;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Malunet.Layers;

/// <summary>
/// The stage of the classic UNet (Ronneberger et al., MICCAI 2015, Fig. 1): two 3x3 convolutions, each followed by
/// BatchNorm and ReLU (the batch-normalised form used by the UNet baselines of segmentation papers).
/// </summary>
public sealed class DoubleConv : nn.Module<Tensor, Tensor>, IOnnxExportable
{
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;

    /// <summary>Builds the block with freshly initialised weights (the official shapes and initialisation).</summary>
    public DoubleConv(long inChannels, long outChannels, string name = "DoubleConv") : base(name)
    {
        conv1 = nn.Conv2d(inChannels, outChannels, 3, padding: 1);
        bn1 = nn.BatchNorm2d(outChannels);
        conv2 = nn.Conv2d(outChannels, outChannels, 3, padding: 1);
        bn2 = nn.BatchNorm2d(outChannels);
        RegisterComponents();
    }

    /// <summary>The block's output for its input (the computation of the class summary).</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = F.relu(bn1.call(conv1.call(x)));
        return F.relu(bn2.call(conv2.call(h))).MoveToOuterDisposeScope();
    }

    /// <summary>This block as ONNX nodes added to <paramref name="g"/>; returns the name of its output.</summary>
    public string ExportOnnx(OnnxGraphBuilder g, string x) =>
        g.Relu(g.BatchNorm(g.Conv(g.Relu(g.BatchNorm(g.Conv(x, conv1), bn1)), conv2), bn2));
}

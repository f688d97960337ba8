using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Models;

/// <summary>
/// A segmentation network of the catalog: maps a B x C_in x H x W image batch to B x classes x H x W probabilities
/// (<see cref="Activate"/>). Knows the options it was built from and the input sizes it accepts.
/// </summary>
public abstract class SegmentationModel : nn.Module<Tensor, Tensor>
{
    /// <summary>A network named <paramref name="name"/> built with <paramref name="options"/>.</summary>
    protected SegmentationModel(string name, ModelOptions options) : base(name) => Options = options;

    /// <summary>The (resolved) options this network was built from.</summary>
    public ModelOptions Options { get; }

    /// <summary>
    /// The square input size the network was trained at (<c>train --image-size</c>). It travels in our checkpoints'
    /// metadata, so predict, evaluate, serve and export run the network at it without flags.
    /// </summary>
    public int InputSize { get; set; } = DefaultInputSize;

    /// <summary>The input size networks are trained and exported at unless told otherwise.</summary>
    public const int DefaultInputSize = NetworkInput.DefaultSize;

    /// <summary>
    /// The output activation, one rule for every architecture: with one class a sigmoid (the paper's lesion
    /// probability), with K &gt;= 2 classes a softmax over the class dimension (class 0 is the background).
    /// </summary>
    protected Tensor Activate(Tensor logits) => Options.NumClasses == 1 ? torch.sigmoid(logits) : torch.softmax(logits, 1);

    /// <summary><see cref="Activate"/> as ONNX nodes.</summary>
    protected string ExportActivation(Interop.OnnxGraphBuilder g, string logits) =>
        Options.NumClasses == 1 ? g.Sigmoid(logits) : g.Softmax(logits, 1);

    /// <summary>Height and width must be multiples of this (2 to the number of poolings).</summary>
    public abstract int SizeDivisor { get; }

    /// <summary>
    /// The output and, for networks trained with deep supervision, their side outputs (probabilities at the input
    /// size, deepest first); the training loss adds <see cref="SideOutputWeights"/> times each side output's loss.
    /// </summary>
    public virtual (Tensor Output, Tensor[] SideOutputs) ForwardWithSideOutputs(Tensor x) => (call(x), Array.Empty<Tensor>());

    /// <summary>Loss weights of the side outputs (none by default).</summary>
    public virtual IReadOnlyList<double> SideOutputWeights => Array.Empty<double>();

    /// <summary>Throws an <see cref="ArgumentException"/> with a one-line reason if the batch has the wrong shape.</summary>
    public void CheckInput(Tensor x)
    {
        if (x.dim() != 4)
            throw new ArgumentException($"input must be a 4-D batch N x C x H x W, got shape [{string.Join(", ", x.shape)}]");
        if (x.shape[1] != Options.InputChannels)
            throw new ArgumentException($"input has {x.shape[1]} channels, the model expects {Options.InputChannels}");
        long h = x.shape[2], w = x.shape[3];
        if (h % SizeDivisor != 0 || w % SizeDivisor != 0 || h == 0 || w == 0)
            throw new ArgumentException($"input height and width must be positive multiples of {SizeDivisor}, got {h}x{w}");
    }
}

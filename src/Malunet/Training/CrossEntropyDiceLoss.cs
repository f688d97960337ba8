using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Malunet.Training;

/// <summary>
/// The multi-class counterpart of the paper's BCE + Dice (<c>--num-classes K</c>, K &gt;= 2), on softmax
/// probabilities B x K x H x W and class-index targets B x 1 x H x W:
/// <c>L = w_ce · CE + w_dice · (1 - Dice)</c>. CE is the mean over pixels of <c>-log p[target]</c>, the log clamped
/// at -100 as the binary loss clamps it; Dice is the smoothed soft Dice <c>(2·Σp·y + s) / (Σp + Σy + s)</c> per
/// sample and foreground class (1..K-1, the background left out as in the metrics), averaged. Side outputs (EGE-UNet's
/// deep supervision, one channel each) predict the foreground, every class but 0, with the binary loss.
/// </summary>
public sealed class CrossEntropyDiceLoss(int classes) : ISegmentationLoss
{
    /// <summary>The cross-entropy term's weight.</summary>
    public double CrossEntropyWeight { get; init; } = 1.0;
    /// <summary>The Dice term's weight.</summary>
    public double DiceWeight { get; init; } = 1.0;
    /// <summary>The Dice smoothing constant.</summary>
    public double Smooth { get; init; } = 1.0;
    /// <summary>Classes, the background included.</summary>
    public int Classes { get; } = classes >= 2 ? classes : throw new ArgumentOutOfRangeException(nameof(classes), "at least 2 classes");

    /// <inheritdoc/>
    public Tensor Compute(Tensor probabilities, Tensor target)
    {
        if (probabilities.shape[1] != Classes) throw new ArgumentException($"{probabilities.shape[1]} output channels for {Classes} classes");
        using var scope = NewDisposeScope();
        long b = probabilities.shape[0];
        var index = target.to(ScalarType.Int64);
        var crossEntropy = -probabilities.gather(1, index).log().clamp_min(-100).mean();
        var oneHot = F.one_hot(index.squeeze(1), Classes).permute(0, 3, 1, 2).to(probabilities.dtype);
        var p = probabilities.narrow(1, 1, Classes - 1).reshape(b, Classes - 1, -1);
        var t = oneHot.narrow(1, 1, Classes - 1).reshape(b, Classes - 1, -1);
        var dice = (2 * (p * t).sum(2) + Smooth) / (p.sum(2) + t.sum(2) + Smooth);
        return (CrossEntropyWeight * crossEntropy + DiceWeight * (1 - dice.mean())).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public Tensor Compute(Tensor probabilities, IReadOnlyList<Tensor> sideOutputs, IReadOnlyList<double> sideWeights, Tensor target)
    {
        if (sideOutputs.Count != sideWeights.Count) throw new ArgumentException($"{sideOutputs.Count} side outputs but {sideWeights.Count} weights");
        using var scope = NewDisposeScope();
        var loss = Compute(probabilities, target);
        if (sideOutputs.Count > 0)
        {
            var foreground = target.gt(0).to(probabilities.dtype);
            var binary = new BceDiceLoss { BceWeight = CrossEntropyWeight, DiceWeight = DiceWeight, Smooth = Smooth };
            for (int i = 0; i < sideOutputs.Count; i++) loss = loss + sideWeights[i] * binary.Compute(sideOutputs[i], foreground);
        }
        return loss.MoveToOuterDisposeScope();
    }
}

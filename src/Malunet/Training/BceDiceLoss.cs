using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Malunet.Training;

/// <summary>
/// The paper's loss (Section III-E): <c>L = w_bce · BCE(p, y) + w_dice · (1 - Dice(p, y))</c> on sigmoid
/// probabilities, as the official <c>BceDiceLoss</c> computes it:
/// BCE is the mean over all pixels with PyTorch's clamp of each log term at -100 (so a probability of exactly
/// 1.0 where the label is 0 costs 100, not infinity); Dice is computed per sample with smoothing 1,
/// <c>(2·Σp·y + 1) / (Σp + Σy + 1)</c>, then averaged over the batch.
/// </summary>
public sealed class BceDiceLoss : ISegmentationLoss
{
    /// <summary>The BCE term's weight.</summary>
    public double BceWeight { get; init; } = 1.0;
    /// <summary>The Dice term's weight.</summary>
    public double DiceWeight { get; init; } = 1.0;
    /// <summary>The Dice smoothing constant.</summary>
    public double Smooth { get; init; } = 1.0;

    /// <summary>Mean binary cross-entropy with the log clamp at -100 (libtorch's binary_cross_entropy does this).</summary>
    public static Tensor Bce(Tensor probabilities, Tensor target) =>
        F.binary_cross_entropy(probabilities.reshape(probabilities.shape[0], -1), target.reshape(target.shape[0], -1));

    /// <summary>1 - mean over samples of the smoothed Dice coefficient.</summary>
    public Tensor DiceLoss(Tensor probabilities, Tensor target)
    {
        using var scope = NewDisposeScope();
        long b = probabilities.shape[0];
        var p = probabilities.reshape(b, -1);
        var t = target.reshape(b, -1);
        var intersection = (p * t).sum(1);
        var score = (2 * intersection + Smooth) / (p.sum(1) + t.sum(1) + Smooth);
        return (1 - score.mean()).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public Tensor Compute(Tensor probabilities, Tensor target)
    {
        using var scope = NewDisposeScope();
        var loss = BceWeight * Bce(probabilities, target) + DiceWeight * DiceLoss(probabilities, target);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Deep supervision (EGE-UNet's GT_BceDiceLoss): the loss of the final output plus the weighted losses of side
    /// outputs, all already at the target's size. Without side outputs this is <see cref="Compute(Tensor, Tensor)"/>.
    /// </summary>
    public Tensor Compute(Tensor probabilities, IReadOnlyList<Tensor> sideOutputs, IReadOnlyList<double> sideWeights, Tensor target)
    {
        if (sideOutputs.Count != sideWeights.Count) throw new ArgumentException($"{sideOutputs.Count} side outputs but {sideWeights.Count} weights");
        using var scope = NewDisposeScope();
        var loss = Compute(probabilities, target);
        for (int i = 0; i < sideOutputs.Count; i++) loss = loss + sideWeights[i] * Compute(sideOutputs[i], target);
        return loss.MoveToOuterDisposeScope();
    }
}

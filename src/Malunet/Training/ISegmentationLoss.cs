using static TorchSharp.torch;

namespace Malunet.Training;

/// <summary>A training loss on the network's probabilities and the batch's targets (B x 1 x H x W).</summary>
public interface ISegmentationLoss
{
    /// <summary>The loss of a batch of probabilities against its targets.</summary>
    Tensor Compute(Tensor probabilities, Tensor target);

    /// <summary>With deep supervision: the final output's loss plus the weighted losses of the side outputs.</summary>
    Tensor Compute(Tensor probabilities, IReadOnlyList<Tensor> sideOutputs, IReadOnlyList<double> sideWeights, Tensor target);

    /// <summary>The recipe's loss for the network's class count: BCE + Dice (the paper's) for one class, CE + Dice otherwise.</summary>
    static ISegmentationLoss For(int classes, double bceWeight = 1, double diceWeight = 1, double smooth = 1) =>
        classes == 1 ? new BceDiceLoss { BceWeight = bceWeight, DiceWeight = diceWeight, Smooth = smooth }
                     : new CrossEntropyDiceLoss(classes) { CrossEntropyWeight = bceWeight, DiceWeight = diceWeight, Smooth = smooth };
}

namespace Malunet.Training;

/// <summary>
/// PyTorch's <c>CosineAnnealingLR</c> stepped once per epoch, in closed form:
/// <c>lr(e) = η_min + (η_max - η_min)·(1 + cos(π·e/T_max))/2</c> for epoch e = 0, 1, ... . Beyond T_max the cosine
/// climbs back up (period 2·T_max), as PyTorch's scheduler does: with the paper's 300 epochs and T_max 50 the rate
/// cycles three times.
/// </summary>
public sealed record CosineSchedule(double BaseLr, int TMax, double EtaMin)
{
    /// <summary>The learning rate of <paramref name="epoch"/> (from 0).</summary>
    public double At(int epoch) => EtaMin + (BaseLr - EtaMin) * (1 + Math.Cos(Math.PI * epoch / TMax)) / 2;
}

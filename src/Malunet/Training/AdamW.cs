using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Malunet.Training;

/// <summary>
/// AdamW (Loshchilov and Hutter) exactly as PyTorch's single-tensor implementation computes it:
/// <c>p ← p·(1 - lr·wd)</c>; <c>m ← β1·m + (1-β1)·g</c>; <c>v ← β2·v + (1-β2)·g²</c>;
/// <c>p ← p - (lr / (1-β1^t)) · m / (√v / √(1-β2^t) + ε)</c>. Written here rather than taken from TorchSharp so that
/// its moment tensors can be saved in our checkpoints and a resumed run continues bit for bit.
/// </summary>
public sealed class AdamW : IDisposable
{
    private sealed record Slot(string Name, Parameter Param, Tensor ExpAvg, Tensor ExpAvgSq);
    private readonly List<Slot> slots;

    /// <summary>The learning rate of the next step.</summary>
    public double LearningRate { get; set; }
    /// <summary>The first moment's decay.</summary>
    public double Beta1 { get; }
    /// <summary>The second moment's decay.</summary>
    public double Beta2 { get; }
    /// <summary>The denominator's epsilon.</summary>
    public double Eps { get; }
    /// <summary>The decoupled weight decay.</summary>
    public double WeightDecay { get; }
    /// <summary>Steps taken so far (PyTorch's per-parameter <c>step</c>, equal for all parameters here).</summary>
    public long Steps { get; private set; }

    /// <summary>An optimiser over the named parameters.</summary>
    public AdamW(IEnumerable<(string Name, Parameter Param)> parameters, double lr = 1e-3, double beta1 = 0.9,
                 double beta2 = 0.999, double eps = 1e-8, double weightDecay = 1e-2)
    {
        LearningRate = lr; Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay;
        slots = parameters.Select(p => new Slot(p.Name, p.Param,
            zeros_like(p.Param).DetachFromDisposeScope(), zeros_like(p.Param).DetachFromDisposeScope())).ToList();
    }

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var s in slots) s.Param.grad?.zero_();
    }

    /// <summary>One AdamW step, as torch.optim.AdamW takes it.</summary>
    public void Step()
    {
        Steps++;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        double bc1 = 1 - Math.Pow(Beta1, Steps), bc2Sqrt = Math.Sqrt(1 - Math.Pow(Beta2, Steps));
        double stepSize = LearningRate / bc1;
        foreach (var s in slots)
        {
            var g = s.Param.grad;
            if (g is null) continue;
            s.Param.mul_(1 - LearningRate * WeightDecay);
            s.ExpAvg.lerp_(g, 1 - Beta1);
            s.ExpAvgSq.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
            var denom = s.ExpAvgSq.sqrt().div_(bc2Sqrt).add_(Eps);
            s.Param.addcdiv_(s.ExpAvg, denom, value: -stepSize);
        }
    }

    /// <summary>The moments, named <c>exp_avg.&lt;param&gt;</c> and <c>exp_avg_sq.&lt;param&gt;</c>.</summary>
    public IEnumerable<(string Name, Tensor Value)> State() =>
        slots.SelectMany(s => new[] { ($"exp_avg.{s.Name}", s.ExpAvg), ($"exp_avg_sq.{s.Name}", s.ExpAvgSq) });

    /// <summary>Restores the moments and the step count of a training checkpoint.</summary>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state, long steps)
    {
        using var _ = no_grad();
        foreach (var s in slots)
        {
            if (!state.TryGetValue($"exp_avg.{s.Name}", out var m) || !state.TryGetValue($"exp_avg_sq.{s.Name}", out var v))
                throw new InvalidDataException($"optimizer state for {s.Name} is missing from the checkpoint");
            s.ExpAvg.copy_(m);
            s.ExpAvgSq.copy_(v);
        }
        Steps = steps;
    }

    /// <summary>Frees the moment tensors.</summary>
    public void Dispose()
    {
        foreach (var s in slots) { s.ExpAvg.Dispose(); s.ExpAvgSq.Dispose(); }
        slots.Clear();
    }

    /// <summary>Moves the moments to <paramref name="device"/>.</summary>
    public void To(Device device)
    {
        for (int i = 0; i < slots.Count; i++)
        {
            var s = slots[i];
            if (s.ExpAvg.device == device) continue;
            slots[i] = s with { ExpAvg = s.ExpAvg.to(device).DetachFromDisposeScope(), ExpAvgSq = s.ExpAvgSq.to(device).DetachFromDisposeScope() };
        }
    }
}

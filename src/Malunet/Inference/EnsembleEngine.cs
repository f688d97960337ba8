using static TorchSharp.torch;

namespace Malunet.Inference;

/// <summary>
/// Several networks as one: the mean of their probabilities (the ensemble of cross-validation folds). All must run at
/// the same input size. Disposing disposes the members.
/// </summary>
public sealed class EnsembleEngine : IInferenceEngine
{
    private readonly IReadOnlyList<IInferenceEngine> members;

    public EnsembleEngine(IReadOnlyList<IInferenceEngine> members)
    {
        if (members.Count == 0) throw new ArgumentException("an ensemble needs at least one network");
        if (members.Select(m => m.InputSize).Distinct().Count() > 1)
            throw new ArgumentException($"the networks of an ensemble run at different input sizes ({string.Join(", ", members.Select(m => m.InputSize))})");
        if (members.Select(m => m.Classes).Distinct().Count() > 1)
            throw new ArgumentException($"the networks of an ensemble have different class counts ({string.Join(", ", members.Select(m => m.Classes))})");
        this.members = members;
    }

    public string Name => $"ensemble of {members.Count} ({members[0].Name})";
    public int InputSize => members[0].InputSize;
    public int Classes => members[0].Classes;

    public Tensor Run(Tensor batch)
    {
        using var scope = NewDisposeScope();
        var sum = members[0].Run(batch);
        for (int i = 1; i < members.Count; i++) sum = sum + members[i].Run(batch);
        return (sum / members.Count).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var m in members) m.Dispose();
    }
}

namespace Malunet.Inference;

/// <summary>
/// Several networks as one: the mean of their probabilities (the ensemble of cross-validation folds), summed in
/// member order and divided once. All must run at the same input size. Disposing disposes the members.
/// </summary>
public sealed class EnsembleEngine : IInferenceEngine
{
    private readonly IReadOnlyList<IInferenceEngine> members;

    /// <summary>An ensemble of <paramref name="members"/> (owned: disposing the ensemble disposes them).</summary>
    public EnsembleEngine(IReadOnlyList<IInferenceEngine> members)
    {
        if (members.Count == 0) throw new ArgumentException("an ensemble needs at least one network");
        if (members.Select(m => m.InputSize).Distinct().Count() > 1)
            throw new ArgumentException($"the networks of an ensemble run at different input sizes ({string.Join(", ", members.Select(m => m.InputSize))})");
        if (members.Select(m => m.Classes).Distinct().Count() > 1)
            throw new ArgumentException($"the networks of an ensemble have different class counts ({string.Join(", ", members.Select(m => m.Classes))})");
        this.members = members;
    }

    /// <inheritdoc/>
    public string Name => $"ensemble of {members.Count} ({members[0].Name})";
    /// <inheritdoc/>
    public int InputSize => members[0].InputSize;
    /// <inheritdoc/>
    public int Classes => members[0].Classes;

    /// <inheritdoc/>
    public long[] Run(float[] batch, long[] shape, float[] probabilities)
    {
        var outShape = members[0].Run(batch, shape, probabilities);
        int size = (int)outShape.Aggregate(1L, (a, b) => a * b);
        var sum = probabilities.AsSpan(0, size);
        var member = new float[size];
        for (int m = 1; m < members.Count; m++)
        {
            members[m].Run(batch, shape, member);
            for (int i = 0; i < size; i++) sum[i] += member[i];
        }
        for (int i = 0; i < size; i++) sum[i] /= members.Count;
        return outShape;
    }

    /// <summary>Disposes every member.</summary>
    public void Dispose()
    {
        foreach (var m in members) m.Dispose();
    }
}

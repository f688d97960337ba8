namespace Malunet.Data;

/// <summary>
/// One part of an archive split across machines (<c>--shard I/N</c>, as a Kubernetes Indexed Job's
/// <c>JOB_COMPLETION_INDEX</c> or a Slurm array's task id gives I): the sorted list is cut into blocks of one batch
/// and shard I takes blocks I, I+N, I+2N, ..., a fixed partition whatever the machines and their order. Whole
/// batches, because a network's float output can depend on the batch it ran in by the last bit: so every image runs
/// in the same batch as in one plain run, and the shards' outputs equal that run's byte for byte.
/// </summary>
internal sealed record Shard(int Index, int Count)
{
    /// <summary>The whole list as one shard (0/1).</summary>
    public static readonly Shard Whole = new(0, 1);

    /// <summary>Parses <c>I/N</c> with 0 &lt;= I &lt; N; throws <see cref="ArgumentException"/> with the rule otherwise.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length == 2 && int.TryParse(parts[0], out int i) && int.TryParse(parts[1], out int n) && n >= 1 && i >= 0 && i < n)
            return new Shard(i, n);
        throw new ArgumentException($"a shard must be I/N with 0 <= I < N (e.g. 0/4), not '{text}'");
    }

    /// <summary>This shard's items of a list already in its fixed (sorted) order, in blocks of <paramref name="batch"/>.</summary>
    public IReadOnlyList<T> Select<T>(IReadOnlyList<T> sorted, int batch) =>
        Count == 1 ? sorted : sorted.Where((_, k) => k / batch % Count == Index).ToList();

    /// <summary>"I/N".</summary>
    public override string ToString() => $"{Index}/{Count}";
}

using System.Text.Json;
using System.Text.Json.Nodes;

namespace Malunet.Data;

/// <summary>
/// Which image ids train, select (val) and test. Read from a JSON split file (<c>{"train": [...], "test": [...]}</c>,
/// optionally <c>"val"</c>), or made deterministically: the ids sorted, shuffled with Python's
/// <c>random.Random(seed)</c> and cut at the ratio, exactly as the paper's split file was made.
/// </summary>
public sealed record DataSplit(IReadOnlyList<string> Train, IReadOnlyList<string> Val, IReadOnlyList<string> Test, string Description)
{
    /// <summary>Reads a split file (JSON: "train", "val", "test" id lists); errors name the file.</summary>
    public static DataSplit Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such split file");
        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path))!.AsObject(); }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        { throw new InvalidDataException($"{path}: not a JSON split file ({e.Message})"); }
        IReadOnlyList<string> Ids(string key) => o[key] is JsonArray a ? a.Select(v => v!.GetValue<string>()).ToList() : Array.Empty<string>();
        var split = new DataSplit(Ids("train"), Ids("val"), Ids("test"), o["description"]?.GetValue<string>() ?? $"from {path}");
        if (split.Train.Count == 0) throw new InvalidDataException($"{path}: no \"train\" ids");
        var dup = split.Train.Concat(split.Val).Concat(split.Test).GroupBy(x => x).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new InvalidDataException($"{path}: id {dup.Key} appears in more than one part (or twice)");
        return split;
    }

    /// <summary>Sorted ids shuffled with <c>random.Random(seed)</c>; the first <c>ratio</c> train, the rest test.</summary>
    public static DataSplit Make(IEnumerable<string> ids, double ratio, long seed)
    {
        if (ratio <= 0 || ratio >= 1) throw new ArgumentException($"the split ratio must lie between 0 and 1, got {ratio}");
        var list = ids.ToList();
        return Make(list, (int)(list.Count * ratio), seed); // Python int(): truncation
    }

    /// <summary>Sorted ids shuffled with <c>random.Random(seed)</c>; the first <paramref name="trainCount"/> train, the
    /// rest test. The paper's ISIC 2017 split is <c>Make(2150 ids, 1500, 42)</c>.</summary>
    public static DataSplit Make(IEnumerable<string> ids, int trainCount, long seed)
    {
        var list = ids.OrderBy(x => x, StringComparer.Ordinal).ToList();
        if (trainCount <= 0 || trainCount >= list.Count)
            throw new ArgumentException($"the training part must hold between 1 and {list.Count - 1} of the {list.Count} images, not {trainCount}");
        new PythonRandom(seed).Shuffle(list);
        int n = trainCount;
        return new DataSplit(list.Take(n).Order(StringComparer.Ordinal).ToList(), Array.Empty<string>(),
            list.Skip(n).Order(StringComparer.Ordinal).ToList(),
            $"{list.Count} ids sorted, shuffled with Python random.Random({seed}), first {n} train, last {list.Count - n} test");
    }

    /// <summary>Moves a seeded <paramref name="valRatio"/> of the training ids to a validation part (unless one exists).</summary>
    public DataSplit WithValidation(double valRatio, long seed)
    {
        if (Val.Count > 0 || valRatio <= 0) return this;
        if (valRatio >= 1) throw new ArgumentException($"the validation ratio must be below 1, got {valRatio}");
        var train = Train.OrderBy(x => x, StringComparer.Ordinal).ToList();
        new PythonRandom(seed + 1).Shuffle(train);
        int nVal = Math.Max(1, (int)Math.Round(train.Count * valRatio));
        var held = train.Take(nVal).ToHashSet(StringComparer.Ordinal);
        return this with
        {
            Val = held.OrderBy(x => x, StringComparer.Ordinal).ToList(),
            Train = Train.Where(id => !held.Contains(id)).ToList(),
            Description = Description + $"; {nVal} training ids held out for validation (seed {seed + 1})",
        };
    }

    /// <summary>
    /// K-fold cross-validation: the training and validation ids pooled, sorted, shuffled with
    /// <c>random.Random(seed + 2)</c> and dealt round-robin into <paramref name="k"/> folds; split <c>i</c> validates
    /// on fold <c>i</c>, trains on the others and keeps this split's test ids.
    /// </summary>
    public IReadOnlyList<DataSplit> Folds(int k, long seed)
    {
        var pool = Train.Concat(Val).Order(StringComparer.Ordinal).ToList();
        if (k < 2 || k > pool.Count) throw new ArgumentException($"the number of folds must be between 2 and the {pool.Count} training images, got {k}");
        new PythonRandom(seed + 2).Shuffle(pool);
        return Enumerable.Range(0, k).Select(i =>
        {
            var fold = pool.Where((_, j) => j % k == i).ToHashSet(StringComparer.Ordinal);
            return new DataSplit(pool.Where(id => !fold.Contains(id)).Order(StringComparer.Ordinal).ToList(),
                                 fold.Order(StringComparer.Ordinal).ToList(), Test,
                                 $"{Description}; training and validation ids pooled ({pool.Count}), shuffled with Python random.Random({seed + 2}), dealt into {k} folds: fold {i} validates");
        }).ToList();
    }

    /// <summary>The split as JSON, in the form <see cref="Load"/> reads.</summary>
    public JsonObject ToJson() => new()
    {
        ["description"] = Description,
        ["train"] = new JsonArray(Train.Select(x => (JsonNode)x).ToArray()),
        ["val"] = new JsonArray(Val.Select(x => (JsonNode)x).ToArray()),
        ["test"] = new JsonArray(Test.Select(x => (JsonNode)x).ToArray()),
    };

    /// <summary>Writes the split file (whole or not at all).</summary>
    public void Save(string path) => Interop.AtomicFile.WriteAllText(path, ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
}

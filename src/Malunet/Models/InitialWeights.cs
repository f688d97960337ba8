namespace Malunet.Models;

/// <summary>
/// The starting point of fine-tuning: every tensor of a weights file (our checkpoint or an official <c>.pth</c>)
/// copied into a newly created network of the same architecture. Only the output layer may differ, in the number of
/// classes (the tensors whose first dimension is the class count); it then keeps its fresh initialisation.
/// </summary>
public static class InitialWeights
{
    /// <summary>
    /// Loads <paramref name="path"/> into <paramref name="model"/>; returns the tensors left freshly initialised
    /// because the class count differs. Throws <see cref="IncompatibleWeightsException"/> naming the first tensor
    /// that does not fit.
    /// </summary>
    public static IReadOnlyList<string> Apply(SegmentationModel model, string path)
    {
        var file = ModelCheckpoint.Read(path);
        try
        {
            int classes = model.Options.NumClasses;
            int? fileClasses = file.StoredOptions?.NumClasses;
            return StateDict.Load(model, file.Tensors, path, (_, have, want) =>
                have.Length == want.Length && want[0] == classes && have[0] != classes
                && (fileClasses == null || have[0] == fileClasses) && have.Skip(1).SequenceEqual(want.Skip(1)));
        }
        finally
        {
            foreach (var t in file.Tensors.Values) t.Dispose();
        }
    }
}

namespace Malunet.Data;

/// <summary>One image (and its mask, where the layout has one), identified by the image file's id.</summary>
public sealed record Sample(string Id, string ImagePath, string? MaskPath, string Subset);

/// <summary>A problem found while reading a dataset: the file and what is wrong.</summary>
public sealed record DataProblem(string Path, string Problem, bool Fatal)
{
    public override string ToString() => $"{Path}: {Problem}";
}

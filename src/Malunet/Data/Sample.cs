namespace Malunet.Data;

/// <summary>One image (and its mask, where the layout has one), identified by the image file's id.</summary>
public sealed record Sample(string Id, string ImagePath, string? MaskPath, string Subset);

/// <summary>A problem found while reading a dataset: the file and what is wrong.</summary>
public sealed record DataProblem(string Path, string Problem, bool Fatal)
{
    public override string ToString() => $"{Path}: {Problem}";

    /// <summary>A problem from a decoder message "&lt;path&gt;: &lt;problem&gt;" (or <paramref name="path"/> and the whole message).</summary>
    public static DataProblem FromMessage(string path, string message, bool fatal = true)
    {
        int cut = message.IndexOf(": ", StringComparison.Ordinal);
        return cut > 0 ? new DataProblem(message[..cut], message[(cut + 2)..], fatal) : new DataProblem(path, message, fatal);
    }

    /// <summary>The warning for a mask whose pixels are not all 0 or 255.</summary>
    public static DataProblem NonBinaryMask(string maskPath, long pixels) =>
        new(maskPath, $"mask is not binary: {pixels} pixels are neither 0 nor 255 (values are used as soft labels /255)", false);
}

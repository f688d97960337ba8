namespace Malunet.Data;

/// <summary>One image (and its mask, where the layout has one), identified by the image file's id.</summary>
public sealed record Sample(string Id, string ImagePath, string? MaskPath, string Subset);

/// <summary>A problem found while reading a dataset: the file and what is wrong.</summary>
public sealed record DataProblem(string Path, string Problem, bool Fatal)
{
    /// <summary>"path: problem", the one line every verb prints.</summary>
    public override string ToString() => $"{Path}: {Problem}";

    /// <summary>A problem from a decoder message "&lt;path&gt;: &lt;problem&gt;" (or <paramref name="path"/> and the whole message).</summary>
    public static DataProblem FromMessage(string path, string message, bool fatal = true)
    {
        int cut = message.IndexOf(": ", StringComparison.Ordinal);
        return cut > 0 ? new DataProblem(message[..cut], message[(cut + 2)..], fatal) : new DataProblem(path, message, fatal);
    }

    /// <summary>Information, not a problem: a mask with soft (anti-aliased) edges, used as the official code uses it.</summary>
    public bool Information { get; init; }

    /// <summary>The note for a mask whose pixels are not all 0 or 255 (smoothed edges, as ISIC 2018's downscaled masks have).</summary>
    public static DataProblem NonBinaryMask(string maskPath, long pixels) =>
        new(maskPath, $"mask is not binary: {pixels} pixels are neither 0 nor 255 ({SoftMaskRule})", false) { Information = true };

    private const string SoftMaskRule = "lesion is >= 128 for the metrics, the values /255 are soft labels for training, as in the official code";

    /// <summary>
    /// The problems to report, with more than three soft-edged masks folded into one line (ISIC 2018's 2594 masks all
    /// have smoothed edges: one line, not 2594).
    /// </summary>
    public static IReadOnlyList<DataProblem> Condense(IReadOnlyList<DataProblem> problems)
    {
        var soft = problems.Where(p => p.Information).ToList();
        if (soft.Count <= 3) return problems;
        var first = soft.OrderBy(p => p.Path, StringComparer.Ordinal).First().Path;
        return problems.Where(p => !p.Information)
            .Append(new DataProblem($"{soft.Count} masks", $"have smoothed edges, values between 0 and 255 (the first: {first}); {SoftMaskRule}", false) { Information = true })
            .ToList();
    }

    /// <summary>How a verb labels the problem: skipped (fatal), warning, or info.</summary>
    public string Label => Fatal ? "skipped" : Information ? "info" : "warning";
}

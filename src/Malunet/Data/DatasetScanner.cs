namespace Malunet.Data;

/// <summary>A dataset folder read as one of the known layouts, with every pairing problem listed.</summary>
public sealed record DatasetScan(string Root, string Layout, IReadOnlyList<Sample> Samples, IReadOnlyList<DataProblem> Problems)
{
    public IEnumerable<Sample> InSubset(params string[] subsets) => Samples.Where(s => subsets.Contains(s.Subset));
}

/// <summary>
/// Finds images and masks in the layouts users download: the ISIC 2017 and ISIC 2018 challenge folders, the
/// official MALUNet layout (<c>train/images</c>, <c>train/masks</c>, <c>val/...</c>) and a plain
/// <c>images/</c> + <c>masks/</c> folder. Images and masks are paired by id (the file name without extension and
/// without a <c>_segmentation</c> or <c>_mask</c> suffix), never by listing order; an image without a mask, a mask
/// without an image and two files with one id are reported.
/// </summary>
public static class DatasetScanner
{
    public static readonly string[] ImageExtensions = { ".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif" };
    private static readonly string[] MaskSuffixes = { "_segmentation", "_Segmentation", "_mask", "_Mask" };

    private sealed record Pair(string Subset, string Images, string Masks);

    private static readonly (string Layout, Pair[] Pairs)[] Layouts =
    {
        ("isic2017", new[]
        {
            new Pair("train", "ISIC-2017_Training_Data", "ISIC-2017_Training_Part1_GroundTruth"),
            new Pair("val", "ISIC-2017_Validation_Data", "ISIC-2017_Validation_Part1_GroundTruth"),
            new Pair("test", "ISIC-2017_Test_v2_Data", "ISIC-2017_Test_v2_Part1_GroundTruth"),
        }),
        ("isic2018", new[]
        {
            new Pair("train", "ISIC2018_Task1-2_Training_Input", "ISIC2018_Task1_Training_GroundTruth"),
            new Pair("val", "ISIC2018_Task1-2_Validation_Input", "ISIC2018_Task1_Validation_GroundTruth"),
            new Pair("test", "ISIC2018_Task1-2_Test_Input", "ISIC2018_Task1_Test_GroundTruth"),
        }),
        ("malunet", new[]
        {
            new Pair("train", "train/images", "train/masks"),
            new Pair("val", "val/images", "val/masks"),
            new Pair("test", "test/images", "test/masks"),
        }),
        ("plain", new[] { new Pair("all", "images", "masks") }),
    };

    /// <summary>Strips the mask suffix: <c>ISIC_0000000_segmentation</c> -> <c>ISIC_0000000</c>.</summary>
    public static string MaskId(string fileName)
    {
        var stem = Path.GetFileNameWithoutExtension(fileName);
        foreach (var s in MaskSuffixes)
            if (stem.EndsWith(s, StringComparison.Ordinal)) return stem[..^s.Length];
        return stem;
    }

    private static bool IsImage(string path) =>
        ImageExtensions.Contains(Path.GetExtension(path).ToLowerInvariant()) && !Path.GetFileName(path).StartsWith('.');

    public static DatasetScan Scan(string root)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{root}: no such data folder");
        foreach (var (layout, pairs) in Layouts)
        {
            var present = pairs.Where(p => Directory.Exists(Path.Combine(root, p.Images))).ToList();
            if (present.Count == 0) continue;
            var samples = new List<Sample>();
            var problems = new List<DataProblem>();
            foreach (var p in present) ScanPair(root, p, samples, problems);
            return new DatasetScan(root, layout, samples, problems);
        }
        throw new InvalidDataException(
            $"{root}: no known dataset layout (ISIC 2017/2018 challenge folders, train/images + train/masks, or images/ + masks/)");
    }

    private static void ScanPair(string root, Pair pair, List<Sample> samples, List<DataProblem> problems)
    {
        var imageDir = Path.Combine(root, pair.Images);
        var maskDir = Path.Combine(root, pair.Masks);
        var images = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in Directory.EnumerateFiles(imageDir).Where(IsImage).OrderBy(f => f, StringComparer.Ordinal))
        {
            var stem = Path.GetFileNameWithoutExtension(f);
            // The ISIC 2017 download also holds superpixel maps beside the images.
            if (stem.EndsWith("_superpixels", StringComparison.Ordinal)) continue;
            if (!images.TryAdd(stem, f)) problems.Add(new DataProblem(f, $"a second image with id {stem} (first: {Path.GetFileName(images[stem])})", true));
        }
        var masks = new Dictionary<string, string>(StringComparer.Ordinal);
        if (Directory.Exists(maskDir))
        {
            foreach (var f in Directory.EnumerateFiles(maskDir).Where(IsImage).OrderBy(f => f, StringComparer.Ordinal))
            {
                var id = MaskId(f);
                if (!masks.TryAdd(id, f)) problems.Add(new DataProblem(f, $"a second mask for id {id} (first: {Path.GetFileName(masks[id])})", true));
            }
        }
        foreach (var (id, img) in images)
        {
            masks.TryGetValue(id, out var mask);
            if (mask == null && Directory.Exists(maskDir)) problems.Add(new DataProblem(img, $"image without a mask (looked for {id}_segmentation.png in {maskDir})", true));
            samples.Add(new Sample(id, img, mask, pair.Subset));
        }
        foreach (var (id, mask) in masks)
            if (!images.ContainsKey(id)) problems.Add(new DataProblem(mask, $"mask without an image (no {id}.* in {imageDir})", true));
    }
}

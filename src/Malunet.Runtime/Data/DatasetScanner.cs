namespace Malunet.Data;

/// <summary>
/// A dataset folder read as one of the known layouts, with every pairing problem listed. <see cref="Root"/> is the
/// folder the layout was found in (at or below the folder given); <see cref="HasParts"/> says whether the layout
/// has its own train/val/test parts (else every sample's subset is <c>all</c>).
/// </summary>
public sealed record DatasetScan(string Root, string Layout, IReadOnlyList<Sample> Samples, IReadOnlyList<DataProblem> Problems)
{
    /// <summary>Whether the layout has parts of its own (train, val, test) rather than one folder.</summary>
    public bool HasParts => Samples.Any(s => s.Subset != DatasetScanner.WholeFolder);

    /// <summary>
    /// The samples with masks of each of <paramref name="parts"/> (a split's train, val, test ids), in order, and the
    /// ids that have none here: the one place where split ids become files (the id index is built once per call).
    /// </summary>
    public (IReadOnlyList<Sample>[] Parts, List<string> Missing) Pick(params IEnumerable<string>[] parts)
    {
        var byId = Samples.Where(s => s.MaskPath != null).GroupBy(s => s.Id).ToDictionary(g => g.Key, g => g.First());
        var missing = new List<string>();
        var found = parts.Select(ids =>
        {
            var part = new List<Sample>();
            foreach (var id in ids)
            {
                if (byId.TryGetValue(id, out var sample)) part.Add(sample);
                else missing.Add(id);
            }
            return (IReadOnlyList<Sample>)part;
        }).ToArray();
        return (found, missing);
    }
}

/// <summary>
/// Finds images and masks in the layouts users download, as they unpack, at any depth below the folder given (the
/// shallowest match wins): the ISIC 2016, 2017 and 2018 challenge folders, HAM10000's segmentation release, PH2's
/// case folders, the official MALUNet layout (<c>train/images</c>, <c>train/masks</c>, <c>val/...</c>) and a plain
/// <c>images/</c> + <c>masks/</c> folder. Images and masks are paired by id, never by listing order: the mask of
/// image <c>X</c> is <c>X&lt;suffix&gt;</c> for one of <see cref="CommonMaskSuffixes"/> (or the one suffix given), in
/// any image format. An image without a mask, a mask without an image and two images with one id are reported; two
/// candidate masks for one image is an error naming both.
/// </summary>
public static class DatasetScanner
{
    /// <summary>The subset of samples in a layout without parts.</summary>
    public const string WholeFolder = "all";

    /// <summary>The file extensions read as images, lower case.</summary>
    public static readonly string[] ImageExtensions = { ".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff" };

    /// <summary>Mask names in common use, most specific first; the empty suffix is Kvasir-SEG's same-stem naming.</summary>
    public static readonly string[] CommonMaskSuffixes = { "_segmentation", "_Segmentation", "_lesion", "_mask", "_Mask", "_gt", "" };

    private const int SearchDepth = 4;

    private sealed record Part(string Subset, string[] ImageFolders, string MaskFolder);

    private static Part One(string subset, string images, string masks) => new(subset, new[] { images }, masks);

    private static readonly (string Layout, Part[] Parts)[] FolderLayouts =
    {
        ("isic2017", new[]
        {
            One("train", "ISIC-2017_Training_Data", "ISIC-2017_Training_Part1_GroundTruth"),
            One("val", "ISIC-2017_Validation_Data", "ISIC-2017_Validation_Part1_GroundTruth"),
            One("test", "ISIC-2017_Test_v2_Data", "ISIC-2017_Test_v2_Part1_GroundTruth"),
        }),
        ("isic2018", new[]
        {
            One("train", "ISIC2018_Task1-2_Training_Input", "ISIC2018_Task1_Training_GroundTruth"),
            One("val", "ISIC2018_Task1-2_Validation_Input", "ISIC2018_Task1_Validation_GroundTruth"),
            One("test", "ISIC2018_Task1-2_Test_Input", "ISIC2018_Task1_Test_GroundTruth"),
        }),
        ("isic2016", new[]
        {
            One("train", "ISBI2016_ISIC_Part1_Training_Data", "ISBI2016_ISIC_Part1_Training_GroundTruth"),
            One("test", "ISBI2016_ISIC_Part1_Test_Data", "ISBI2016_ISIC_Part1_Test_GroundTruth"),
        }),
        ("ham10000", new[]
        {
            new Part(WholeFolder, new[] { "HAM10000_images_part_1", "HAM10000_images_part_2" }, "HAM10000_segmentations_lesion_tschandl"),
        }),
        ("malunet", new[]
        {
            One("train", "train/images", "train/masks"),
            One("val", "val/images", "val/masks"),
            One("test", "test/images", "test/masks"),
        }),
        ("plain", new[] { One(WholeFolder, "images", "masks") }),
    };

    /// <summary>
    /// Whether a name is read as an image: an image extension, and not hidden (macOS's <c>._x.jpg</c> metadata files
    /// and the like). The one rule of every verb.
    /// </summary>
    public static bool IsImage(string path) =>
        ImageExtensions.Contains(Path.GetExtension(path).ToLowerInvariant()) && !Path.GetFileName(path).StartsWith('.');

    private static IEnumerable<string> ImagesIn(string folder) => ListFolder(folder).Images;

    /// <summary>
    /// An input folder's entries, sorted: the images to read (by <see cref="IsImage"/>; a directory or device named
    /// like an image is among them, for the decoder to name and refuse) and every other file, which is not read but
    /// must be named, never dropped in silence. Subfolders not named like images are neither.
    /// </summary>
    public static (IReadOnlyList<string> Images, IReadOnlyList<string> NotImages) ListFolder(string folder)
    {
        var images = new List<string>();
        var others = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder).OrderBy(f => f, StringComparer.Ordinal))
        {
            if (IsImage(entry)) images.Add(entry);
            else if (!Directory.Exists(entry)) others.Add(entry);
        }
        return (images, others);
    }

    /// <summary>One line naming the files of a folder that were not read as images, e.g. "2 files are not images: notes.txt, scan.pdf".</summary>
    public static string NotImagesLine(IReadOnlyList<string> notImages) =>
        $"{notImages.Count} file{(notImages.Count == 1 ? " is" : "s are")} not {(notImages.Count == 1 ? "an image" : "images")} and {(notImages.Count == 1 ? "was" : "were")} not read: " +
        string.Join(", ", notImages.Select(Path.GetFileName));

    /// <summary>
    /// Reads the dataset at or below <paramref name="root"/>. <paramref name="maskSuffix"/> names the one mask suffix
    /// to pair with (<c>--mask-suffix</c>); by default any of <see cref="CommonMaskSuffixes"/>.
    /// </summary>
    public static DatasetScan Scan(string root, string? maskSuffix = null)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"{root}: no such data folder");
        var suffixes = maskSuffix != null ? new[] { maskSuffix } : CommonMaskSuffixes;
        // Breadth first, so the folder given wins over anything below it.
        var level = new List<string> { root };
        for (int depth = 0; depth <= SearchDepth && level.Count > 0; depth++)
        {
            var next = new List<string>();
            foreach (var folder in level)
            {
                var subfolders = SubfoldersOf(folder); // listed once: for PH2's case folders and for the next level
                if (TryScan(folder, subfolders, suffixes) is { } scan) return scan;
                next.AddRange(subfolders);
            }
            level = next;
        }
        throw new InvalidDataException(
            $"{root}: no known dataset layout within {SearchDepth} folder levels (ISIC 2016/2017/2018 challenge folders, HAM10000, PH2, " +
            "train/images + train/masks, or images/ + masks/)");
    }

    private static IReadOnlyList<string> SubfoldersOf(string folder)
    {
        try
        {
            return Directory.EnumerateDirectories(folder).Where(d => !Path.GetFileName(d).StartsWith('.'))
                .OrderBy(d => d, StringComparer.Ordinal).ToList();
        }
        catch (UnauthorizedAccessException) { return Array.Empty<string>(); }
    }

    private static DatasetScan? TryScan(string folder, IReadOnlyList<string> subfolders, string[] suffixes)
    {
        foreach (var (layout, parts) in FolderLayouts)
        {
            var present = parts.Where(p => p.ImageFolders.Any(f => Directory.Exists(Path.Combine(folder, f)))).ToList();
            if (present.Count == 0) continue;
            var samples = new List<Sample>();
            var problems = new List<DataProblem>();
            foreach (var p in present)
            {
                var images = p.ImageFolders.Select(f => Path.Combine(folder, f)).Where(Directory.Exists).SelectMany(ImagesIn)
                    // The ISIC 2017 download also holds superpixel maps beside the images.
                    .Where(f => !Path.GetFileNameWithoutExtension(f).EndsWith("_superpixels", StringComparison.Ordinal));
                var maskFolder = Path.Combine(folder, p.MaskFolder);
                Pair(images, Directory.Exists(maskFolder) ? ImagesIn(maskFolder) : null, maskFolder, p.Subset, suffixes, samples, problems);
            }
            return new DatasetScan(folder, layout, samples, problems);
        }
        return TryScanPh2(folder, subfolders, suffixes);
    }

    /// <summary>
    /// PH2: one folder per case, <c>IMD002/IMD002_Dermoscopic_Image/IMD002.bmp</c> with the mask in
    /// <c>IMD002/IMD002_lesion/</c>; the <c>_roi</c> folders beside them and <c>PH2_dataset.txt</c> are not needed.
    /// </summary>
    private static DatasetScan? TryScanPh2(string folder, IReadOnlyList<string> subfolders, string[] suffixes)
    {
        var cases = subfolders.Where(c => Directory.Exists(Ph2Folder(c, "_Dermoscopic_Image"))).ToList();
        if (cases.Count == 0) return null;
        var samples = new List<Sample>();
        var problems = new List<DataProblem>();
        foreach (var c in cases)
        {
            var lesion = Ph2Folder(c, "_lesion");
            Pair(ImagesIn(Ph2Folder(c, "_Dermoscopic_Image")), Directory.Exists(lesion) ? ImagesIn(lesion) : null, lesion,
                 WholeFolder, suffixes, samples, problems);
        }
        return new DatasetScan(folder, "ph2", samples, problems);
    }

    private static string Ph2Folder(string caseFolder, string suffix) => Path.Combine(caseFolder, Path.GetFileName(caseFolder) + suffix);

    /// <summary>
    /// Pairs images with masks by id. <paramref name="masks"/> is null where the mask folder does not exist (images
    /// only: no problem is reported then).
    /// </summary>
    private static void Pair(IEnumerable<string> imageFiles, IEnumerable<string>? masks, string maskFolder, string subset,
                             string[] suffixes, List<Sample> samples, List<DataProblem> problems)
    {
        var images = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in imageFiles)
        {
            var stem = Path.GetFileNameWithoutExtension(f);
            if (!images.TryAdd(stem, f)) problems.Add(new DataProblem(f, $"a second image with id {stem} (first: {Path.GetFileName(images[stem])})", true));
        }
        var masksByStem = (masks ?? Enumerable.Empty<string>()).GroupBy(f => Path.GetFileNameWithoutExtension(f)!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var claimed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (id, img) in images)
        {
            var candidates = suffixes.Where(s => masksByStem.ContainsKey(id + s)).SelectMany(s => masksByStem[id + s]).ToList();
            if (candidates.Count > 1)
                throw new InvalidDataException(
                    $"{img}: two candidate masks, {candidates[0]} and {candidates[1]}; keep one, or give the suffix that names the masks");
            var mask = candidates.SingleOrDefault();
            if (mask != null) claimed.Add(mask);
            else if (masks != null)
                problems.Add(new DataProblem(img, $"image without a mask (looked for {id}{{{string.Join(",", suffixes)}}}.png/.bmp/.jpg/.gif in {maskFolder})", true));
            samples.Add(new Sample(id, img, mask, subset));
        }
        foreach (var mask in masksByStem.Values.SelectMany(m => m))
            if (!claimed.Contains(mask)) problems.Add(new DataProblem(mask, "mask without an image (its name pairs with no image id)", true));
    }
}

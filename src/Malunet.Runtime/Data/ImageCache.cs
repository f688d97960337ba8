using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Malunet.Data;

/// <summary>
/// A sample decoded and resized to the network size, kept as bytes (RGB HWC and one-channel mask: 0..255 for the
/// paper's binary masks, class indices when <see cref="MaskHoldsClassIndices"/>).
/// </summary>
public sealed record CachedSample(string Id, int Size, byte[] Image, byte[]? Mask, int OriginalWidth, int OriginalHeight,
                                  int MaskWidth, int MaskHeight, long NonBinaryMaskPixels)
{
    /// <summary>True for multi-class samples (<see cref="ClassMasks"/>): the mask bytes are class indices, not 0..255.</summary>
    public bool MaskHoldsClassIndices { get; init; }
}

/// <summary>
/// Decodes every image and mask once, in parallel, resized to <c>size x size</c> (images and masks may differ in
/// size, as in the ISIC downloads), and keeps the bytes in memory: 256 KB a sample at 256x256. Also keeps them in a
/// cache file keyed by each source file's path, length and modification time, so the next run starts in a second.
/// Unreadable files are returned as problems, never silently dropped.
/// </summary>
public static class ImageCache
{
    private const string Magic = "MALUNETCACHE2";

    /// <summary>The default cache folder: $MALUNET_CACHE, else $XDG_CACHE_HOME/malunet, else ~/.cache/malunet.</summary>
    public static string DefaultFolder()
    {
        var env = Environment.GetEnvironmentVariable("MALUNET_CACHE");
        if (!string.IsNullOrEmpty(env)) return env;
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".cache") : xdg, "malunet");
    }

    private static string Key(Sample s, int size, int classes)
    {
        static string Stamp(string? p)
        {
            if (p == null) return "-";
            var fi = new FileInfo(p);
            return fi.Exists ? $"{fi.FullName}|{fi.Length}|{fi.LastWriteTimeUtc.Ticks}" : $"{p}|missing";
        }
        return $"{size}{(classes > 1 ? $"c{classes}" : "")}|{Stamp(s.ImagePath)}|{Stamp(s.MaskPath)}";
    }

    /// <summary>
    /// Decodes (or reads from the cache) each sample; with <paramref name="classes"/> &gt; 1 the masks are class-index
    /// masks (<see cref="ClassMasks"/>). Problems are per file; those samples are left out of the result.
    /// </summary>
    public static IReadOnlyList<CachedSample> Load(IReadOnlyList<Sample> samples, int size, string? cacheFolder,
                                                   out List<DataProblem> problems, Action<int, int>? progress = null, int classes = 1)
    {
        var keys = samples.Select(s => Key(s, size, classes)).ToArray();
        var cachePath = cacheFolder != null ? CachePath(cacheFolder, samples, size, classes) : null;
        var fromDisk = cachePath != null ? ReadCacheFile(cachePath, keys.ToHashSet(), classes > 1) : new Dictionary<string, CachedSample>();
        var result = new CachedSample?[samples.Count];
        var found = new ConcurrentBag<DataProblem>();
        int done = 0, decoded = 0;
        Parallel.For(0, samples.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            if (fromDisk.TryGetValue(keys[i], out var hit) && hit.Id == samples[i].Id)
            {
                result[i] = hit;
            }
            else
            {
                try
                {
                    result[i] = Decode(samples[i], size, classes);
                    Interlocked.Increment(ref decoded);
                }
                catch (Exception e) when (e is InvalidDataException or FileNotFoundException or IOException)
                {
                    found.Add(e is FileNotFoundException ? new DataProblem(samples[i].ImagePath, ProblemText(e.Message), true) : DataProblem.FromMessage(samples[i].ImagePath, e.Message));
                }
            }
            progress?.Invoke(Interlocked.Increment(ref done), samples.Count);
        });
        foreach (var r in result.Where(r => r is { NonBinaryMaskPixels: > 0 }))
            found.Add(DataProblem.NonBinaryMask(samples.First(s => s.Id == r!.Id).MaskPath!, r!.NonBinaryMaskPixels));
        problems = found.OrderBy(p => p.Path, StringComparer.Ordinal).ToList();
        if (decoded > 0)
        {
            // Decoding churns through large buffers; give them back before training starts.
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
        var ok = result.Where(r => r != null).Select(r => r!).ToList();
        if (cachePath != null && decoded > 0)
        {
            try { WriteCacheFile(cachePath, keys, result, classes > 1); }
            catch (IOException) { /* a cache that cannot be written only costs time */ }
            catch (UnauthorizedAccessException) { }
        }
        return ok;
    }

    // Decoder messages are "<path>: <problem>".
    private static string ProblemText(string message) => message.Contains(": ") ? message[(message.IndexOf(": ", StringComparison.Ordinal) + 2)..] : message;

    /// <summary>
    /// Decodes one sample: RGB image and mask resized to size x size. A binary mask (<paramref name="classes"/> = 1) is
    /// resized linearly and its non-binary pixels counted; a class-index mask is checked against the class count and
    /// resized to the nearest pixel.
    /// </summary>
    public static CachedSample Decode(Sample s, int size, int classes = 1)
    {
        var (ow, oh) = ImageDecoder.ReadSize(s.ImagePath);
        var img = ImageDecoder.Resize(ImageDecoder.DecodeRgb(s.ImagePath, size, size), size, size);
        byte[]? mask = null;
        long nonBinary = 0;
        int mw = 0, mh = 0;
        if (s.MaskPath != null && classes > 1)
        {
            var labels = ClassMasks.Decode(s.MaskPath);
            ClassMasks.CheckRange(s.MaskPath, labels, classes);
            (mw, mh) = (labels.Width, labels.Height);
            mask = ClassMasks.ResizeNearest(labels, size, size).Pixels;
        }
        else if (s.MaskPath != null)
        {
            var (m, w, h, nb) = ImageDecoder.DecodeMaskResized(s.MaskPath, size, size);
            mw = w; mh = h; nonBinary = nb;
            mask = m.Pixels;
        }
        if (s.MaskPath != null) CheckMaskSize(s, ow, oh, mw, mh);
        return new CachedSample(s.Id, size, img.Pixels, mask, ow, oh, mw, mh, nonBinary) { MaskHoldsClassIndices = classes > 1 };
    }

    /// <summary>
    /// A mask must belong to its image: its sides may differ from the image's by resizing (masks are often kept at
    /// the photo's resolution beside resized images: the shared ISIC 2017 copy pairs 256x256 images with masks up to
    /// 26 times larger each way), but not by more than a factor of 50, which no resize of one picture explains.
    /// </summary>
    public static void CheckMaskSize(Sample s, int imageWidth, int imageHeight, int maskWidth, int maskHeight)
    {
        const double MaxFactor = 50;
        static bool Near(int a, int b) => a > 0 && b > 0 && Math.Max(a, b) <= MaxFactor * Math.Min(a, b);
        if (!Near(maskWidth, imageWidth) || !Near(maskHeight, imageHeight))
            throw new InvalidDataException($"{s.MaskPath}: mask is {maskWidth}x{maskHeight} but its image {Path.GetFileName(s.ImagePath)} is {imageWidth}x{imageHeight}");
    }

    private static string CachePath(string folder, IReadOnlyList<Sample> samples, int size, int classes)
    {
        // One file per data folder and size, shared by every split of that folder.
        var root = samples.Count > 0 ? Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(samples[0].ImagePath))) : "";
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(classes > 1 ? $"{root}|{size}|classes {classes}" : $"{root}|{size}")))[..16].ToLowerInvariant();
        return Path.Combine(folder, $"{hash}.cache");
    }

    private static Dictionary<string, CachedSample> ReadCacheFile(string path, HashSet<string> wanted, bool classIndices)
    {
        var map = new Dictionary<string, CachedSample>();
        if (!File.Exists(path)) return map;
        try
        {
            using var r = new BinaryReader(File.OpenRead(path));
            if (r.ReadString() != Magic) return map;
            int n = r.ReadInt32();
            for (int i = 0; i < n; i++)
            {
                string key = r.ReadString(), id = r.ReadString();
                int size = r.ReadInt32(), ow = r.ReadInt32(), oh = r.ReadInt32(), mw = r.ReadInt32(), mh = r.ReadInt32();
                long nb = r.ReadInt64();
                if (!wanted.Contains(key))
                {
                    // Skip the pixels of samples not asked for: no garbage from a large shared cache.
                    r.BaseStream.Seek(size * size * 3, SeekOrigin.Current);
                    if (r.ReadBoolean()) r.BaseStream.Seek(size * size, SeekOrigin.Current);
                    continue;
                }
                var image = r.ReadBytes(size * size * 3);
                bool hasMask = r.ReadBoolean();
                var mask = hasMask ? r.ReadBytes(size * size) : null;
                map[key] = new CachedSample(id, size, image, mask, ow, oh, mw, mh, nb) { MaskHoldsClassIndices = classIndices };
            }
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or InvalidDataException)
        {
            map.Clear(); // a damaged cache is rebuilt
        }
        return map;
    }

    private static void WriteCacheFile(string path, string[] keys, CachedSample?[] data, bool classIndices)
    {
        // Keep entries of other samples already in the file (another split of the same folder).
        var existing = File.Exists(path) ? ReadAllEntries(path, classIndices) : new List<(string, CachedSample)>();
        var mine = keys.Select((k, i) => (k, data[i])).Where(t => t.Item2 != null).Select(t => (t.k, t.Item2!)).ToList();
        var keep = existing.Where(e => !mine.Any(m => m.k == e.Item1) && StillValid(e.Item1)).ToList();
        var all = keep.Concat(mine).ToList();
        Interop.AtomicFile.Write(path, s =>
        {
            using var w = new BinaryWriter(s, Encoding.UTF8, leaveOpen: true);
            w.Write(Magic);
            w.Write(all.Count);
            foreach (var (key, c) in all)
            {
                w.Write(key); w.Write(c.Id); w.Write(c.Size); w.Write(c.OriginalWidth); w.Write(c.OriginalHeight);
                w.Write(c.MaskWidth); w.Write(c.MaskHeight); w.Write(c.NonBinaryMaskPixels);
                w.Write(c.Image);
                w.Write(c.Mask != null);
                if (c.Mask != null) w.Write(c.Mask);
            }
        });
    }

    private static bool StillValid(string key)
    {
        // key = size|path|len|ticks|maskpath|len|ticks
        var parts = key.Split('|');
        if (parts.Length < 4) return false;
        var fi = new FileInfo(parts[1]);
        return fi.Exists && fi.Length.ToString() == parts[2] && fi.LastWriteTimeUtc.Ticks.ToString() == parts[3];
    }

    private static List<(string, CachedSample)> ReadAllEntries(string path, bool classIndices)
    {
        var keys = new HashSet<string>();
        using (var r = new BinaryReader(File.OpenRead(path)))
        {
            try
            {
                if (r.ReadString() != Magic) return new();
                int n = r.ReadInt32();
                for (int i = 0; i < n; i++)
                {
                    string key = r.ReadString(); r.ReadString();
                    int size = r.ReadInt32(); r.ReadInt32(); r.ReadInt32(); r.ReadInt32(); r.ReadInt32(); r.ReadInt64();
                    r.BaseStream.Seek(size * size * 3, SeekOrigin.Current);
                    if (r.ReadBoolean()) r.BaseStream.Seek(size * size, SeekOrigin.Current);
                    keys.Add(key);
                }
            }
            catch (EndOfStreamException) { return new(); }
        }
        return ReadCacheFile(path, keys, classIndices).Select(kv => (kv.Key, kv.Value)).ToList();
    }
}

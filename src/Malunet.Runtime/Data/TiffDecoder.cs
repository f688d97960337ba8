using BitMiracle.LibTiff.Classic;

namespace Malunet.Data;

/// <summary>
/// TIFF files, which SkiaSharp does not read and dermatoscope and archive software often writes: the first page of
/// the file, 8 or 16 bits, gray, RGB or RGBA, uncompressed, LZW, Deflate or JPEG, through BitMiracle's LibTiff.NET
/// (a port of libtiff) and its RGBA interface, oriented to the TIFF's own Orientation tag. Errors are an
/// <see cref="InvalidDataException"/> naming the file and libtiff's reason; the pixel limit is checked from the
/// header before any pixel is allocated.
/// </summary>
internal static class TiffDecoder
{
    /// <summary>Whether the bytes start as a TIFF file (little or big endian; classic or BigTIFF).</summary>
    public static bool IsTiff(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && ((head[0] == 'I' && head[1] == 'I' && (head[2] == 42 || head[2] == 43) && head[3] == 0)
                          || (head[0] == 'M' && head[1] == 'M' && head[2] == 0 && (head[3] == 42 || head[3] == 43)));

    /// <summary>Whether the file at <paramref name="path"/> starts as a TIFF (reads four bytes).</summary>
    public static bool IsTiff(string path)
    {
        Span<byte> head = stackalloc byte[4];
        using var f = File.OpenRead(path);
        return f.ReadAtLeast(head, 4, throwOnEndOfStream: false) == 4 && IsTiff(head);
    }

    /// <summary>The first page's width and height as displayed (the Orientation tag applied).</summary>
    public static (int Width, int Height) ReadSize(byte[] data, string name) => Guard(name, () =>
    {
        using var tiff = Open(data, name);
        return DisplaySize(tiff);
    });

    /// <summary>
    /// The first page, top row first, as 4 (RGBA, alpha made opaque as every decoded image is), 3 (RGB) or 1
    /// (luminance) channels; the pixel limit is checked from the header first.
    /// </summary>
    public static Image8 Decode(byte[] data, string name, int channels, long maxPixels) => Guard(name, () =>
    {
        using var tiff = Open(data, name);
        var (w, h) = DisplaySize(tiff);
        ImageDecoder.CheckPixelLimit(name, w, h, maxPixels);
        var raster = new int[(long)w * h];
        if (!tiff.ReadRGBAImageOriented(w, h, raster, Orientation.TOPLEFT))
            throw new InvalidDataException($"{name}: unreadable TIFF ({Errors.Last ?? "libtiff could not convert it to RGBA"})");
        if (Errors.Last is { } error) throw new InvalidDataException($"{name}: truncated or corrupt TIFF ({error})");
        var pixels = new byte[raster.LongLength * channels];
        for (long i = 0; i < raster.LongLength; i++)
        {
            int v = raster[i]; // ABGR, as libtiff packs it
            byte r = (byte)v, g = (byte)(v >> 8), b = (byte)(v >> 16);
            if (channels == 1) { pixels[i] = ImageDecoder.Luminance(r, g, b); continue; }
            pixels[channels * i] = r; pixels[channels * i + 1] = g; pixels[channels * i + 2] = b;
            if (channels == 4) pixels[4 * i + 3] = 255;
        }
        return new Image8(w, h, channels, pixels);
    });

    /// <summary>
    /// libtiff's port throws what its C original would have reported (overflows, index errors) on damaged files:
    /// any such failure is the file's, named; our own refusals pass through.
    /// </summary>
    private static T Guard<T>(string name, Func<T> read)
    {
        try { return read(); }
        catch (Exception e) when (e is not (InvalidDataException or OutOfMemoryException or OperationCanceledException))
        {
            throw new InvalidDataException($"{name}: unreadable TIFF ({e.GetType().Name}: {e.Message.Split('\n')[0]})");
        }
    }

    private static (int Width, int Height) DisplaySize(Tiff tiff)
    {
        int w = tiff.GetField(TiffTag.IMAGEWIDTH)?[0].ToInt() ?? 0, h = tiff.GetField(TiffTag.IMAGELENGTH)?[0].ToInt() ?? 0;
        if (w <= 0 || h <= 0) throw new InvalidDataException($"{tiff.FileName()}: TIFF of {w}x{h} pixels has no image");
        var orientation = (Orientation)(tiff.GetField(TiffTag.ORIENTATION)?[0].ToInt() ?? (int)Orientation.TOPLEFT);
        // Orientations 5-8 store the image transposed.
        return orientation >= Orientation.LEFTTOP ? (h, w) : (w, h);
    }

    private static Tiff Open(byte[] data, string name)
    {
        CheckFirstDirectory(data, name);
        Errors.Install();
        Errors.Last = null;
        var tiff = Tiff.ClientOpen(name, "r", new MemoryStream(data, writable: false), new TiffStream());
        return tiff ?? throw new InvalidDataException($"{name}: unreadable TIFF ({Errors.Last ?? "no image directory"})");
    }

    /// <summary>
    /// Checks the first image directory against the file's length before libtiff reads it, as libtiff's C original
    /// does: the port trusts a damaged directory's counts and sizes and allocates them (a 5 KB file with one flipped
    /// bit asked for 268 MB). Every value array, every strip or tile offset and byte count must lie within the file.
    /// </summary>
    private static void CheckFirstDirectory(byte[] data, string name)
    {
        bool little = data[0] == 'I', big = (little ? data[2] : data[3]) == 43;
        ulong U(long at, int size)
        {
            if (at < 0 || at + size > data.Length) throw new InvalidDataException($"{name}: truncated or corrupt TIFF (directory past the end of the file)");
            ulong v = 0;
            for (int k = 0; k < size; k++) v |= (ulong)data[at + (little ? k : size - 1 - k)] << (8 * k);
            return v;
        }
        long length = data.LongLength;
        int offsetSize = big ? 8 : 4, entrySize = big ? 20 : 12, countSize = big ? 8 : 2;
        ulong ifd = U(big ? 8 : 4, offsetSize);
        if (ifd >= (ulong)length) throw new InvalidDataException($"{name}: truncated or corrupt TIFF (first directory at {ifd}, past the end of the file)");
        ulong entries = U((long)ifd, countSize);
        long first = (long)ifd + countSize;
        if (entries * (ulong)entrySize > (ulong)(length - first)) throw new InvalidDataException($"{name}: truncated or corrupt TIFF (a directory of {entries} entries)");
        for (long e = 0; e < (long)entries; e++)
        {
            long at = first + e * entrySize;
            int tag = (int)U(at, 2), type = (int)U(at + 2, 2);
            ulong count = U(at + 4, big ? 8 : 4);
            int size = type switch { 1 or 2 or 6 or 7 => 1, 3 or 8 => 2, 4 or 9 or 11 or 13 => 4, 5 or 10 or 12 or 16 or 17 or 18 => 8, _ => 0 };
            if (size == 0) continue; // an unknown type libtiff skips
            if (count > (ulong)length / (ulong)size) throw new InvalidDataException($"{name}: truncated or corrupt TIFF (tag {tag} claims {count} values)");
            ulong bytes = count * (ulong)size;
            long valueAt = at + 4 + (big ? 8 : 4);
            long values = bytes <= (ulong)offsetSize ? valueAt : (long)U(valueAt, offsetSize);
            if (values < 0 || (ulong)values + bytes > (ulong)length) throw new InvalidDataException($"{name}: truncated or corrupt TIFF (tag {tag}'s values lie past the end of the file)");
            // Strip and tile offsets (273, 324) and byte counts (279, 325) point into the file.
            if (tag is 273 or 279 or 324 or 325 && size is 2 or 4 or 8)
                for (ulong k = 0; k < count; k++)
                    if (U(values + (long)k * size, size) > (ulong)length)
                        throw new InvalidDataException($"{name}: truncated or corrupt TIFF (a strip or tile lies past the end of the file)");
        }
    }

    /// <summary>libtiff reports through one process-wide handler: its messages are kept per thread, never printed.</summary>
    private sealed class Errors : TiffErrorHandler
    {
        [ThreadStatic] public static string? Last;
        private static int installed;

        public static void Install()
        {
            if (Interlocked.Exchange(ref installed, 1) == 0) Tiff.SetErrorHandler(new Errors());
        }

        public override void ErrorHandler(Tiff tif, string method, string format, params object[] args) => Last ??= Format(format, args);
        public override void ErrorHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args) => Last ??= Format(format, args);
        public override void WarningHandler(Tiff tif, string method, string format, params object[] args) { }
        public override void WarningHandlerExt(Tiff tif, object clientData, string method, string format, params object[] args) { }

        private static string Format(string format, object[] args)
        {
            try { return string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args).Split('\n')[0]; }
            catch (FormatException) { return format; }
        }
    }
}

using SkiaSharp;

namespace Malunet.Data;

/// <summary>An 8-bit image in row-major order with 1 (gray), 3 (RGB) or 4 (RGBA, opaque) interleaved channels.</summary>
public sealed record Image8(int Width, int Height, int Channels, byte[] Pixels)
{
    /// <summary>Channel <paramref name="c"/> of the pixel at column <paramref name="x"/>, row <paramref name="y"/>.</summary>
    public byte this[int x, int y, int c] => Pixels[(y * Width + x) * Channels + c];
}

/// <summary>
/// Why an image was refused as too large: the inner exception of the <see cref="InvalidDataException"/> that
/// <see cref="ImageDecoder.CheckPixelLimit"/> throws (so every bad-file path handles it), for callers that answer it
/// differently (the server's 413).
/// </summary>
public sealed class ImageTooLargeException(long width, long height, long limit)
    : Exception($"{width}x{height} is {width * height:N0} pixels, more than the limit of {limit:N0}")
{
    /// <summary>The image's width in pixels, as its header says.</summary>
    public long Width { get; } = width;
    /// <summary>The image's height in pixels, as its header says.</summary>
    public long Height { get; } = height;
    /// <summary>The largest pixel count allowed.</summary>
    public long Limit { get; } = limit;
}

/// <summary>
/// Decodes image files with SkiaSharp (JPEG, PNG, BMP, WebP, GIF) and TIFF with <see cref="TiffDecoder"/>: EXIF
/// orientation applied, grayscale and RGBA converted to RGB (alpha dropped), and large JPEGs decoded directly at a
/// reduced scale when only a small size is needed, so a 6000x4000 photo never needs 100 MB of pixels. Every failure is
/// an <see cref="InvalidDataException"/> naming the file and the problem; a truncated file is an error, not a
/// half-grey image; a path that is a directory, a device or a FIFO is refused unread; an image whose header declares
/// more than <see cref="MaxPixels"/> pixels is refused before anything is allocated (with an <see cref="ImageTooLargeException"/> inside).
/// </summary>
public static class ImageDecoder
{
    /// <summary>The pixel limit of every program unless it says otherwise: 50 megapixels (a 6000x4000 photo is 24).</summary>
    public const long DefaultMaxPixels = 50_000_000;

    /// <summary>
    /// The largest image (width x height, as its header declares it) any decode of this process accepts: the one
    /// pixel limit of every verb (<c>--max-megapixels</c>) and of the library's entry points.
    /// </summary>
    public static long MaxPixels
    {
        get => Interlocked.Read(ref maxPixels);
        set => Interlocked.Exchange(ref maxPixels, value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(value), $"the pixel limit must be positive, got {value}"));
    }
    private static long maxPixels = DefaultMaxPixels;

    /// <summary>The one pixel-limit rule: over <paramref name="limit"/> (default <see cref="MaxPixels"/>) an
    /// <see cref="InvalidDataException"/> naming the file, with an <see cref="ImageTooLargeException"/> inside.</summary>
    public static void CheckPixelLimit(string name, long width, long height, long? limit = null)
    {
        long l = limit ?? MaxPixels;
        if (width * height <= l) return;
        var reason = new ImageTooLargeException(width, height, l);
        throw new InvalidDataException($"{name}: {reason.Message}", reason);
    }

    /// <summary>
    /// A path that may be read as an image: an existing regular file that is not empty. A directory named
    /// <c>x.jpg</c>, a link to <c>/dev/zero</c>, a FIFO: an <see cref="InvalidDataException"/> naming it, never read.
    /// </summary>
    public static void CheckFile(string path)
    {
        if (Directory.Exists(path)) throw new InvalidDataException($"{path}: a directory, not an image file");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        if (!Native.RegularFile.Is(path)) throw new InvalidDataException($"{path}: not a regular file (a device, FIFO or socket), not read");
        if (new FileInfo(path).Length == 0) throw new InvalidDataException($"{path}: empty file");
    }

    /// <summary>Size of the image as it will be displayed (EXIF orientation applied), without decoding pixels.</summary>
    public static (int Width, int Height) ReadSize(string path)
    {
        CheckFile(path);
        if (TiffDecoder.IsTiff(path)) return TiffDecoder.ReadSize(File.ReadAllBytes(path), path);
        using var codec = OpenCodec(path);
        return DisplaySize(codec);
    }

    /// <summary>As <see cref="ReadSize(string)"/> for an image held in memory (an upload); <paramref name="name"/> names it in errors.</summary>
    public static (int Width, int Height) ReadSize(byte[] data, string name)
    {
        if (TiffDecoder.IsTiff(data)) return TiffDecoder.ReadSize(data, name);
        using var codec = OpenCodec(data, name);
        return DisplaySize(codec);
    }

    private static (int Width, int Height) DisplaySize(SKCodec codec)
    {
        var (w, h) = (codec.Info.Width, codec.Info.Height);
        return Swaps(codec.EncodedOrigin) ? (h, w) : (w, h);
    }

    /// <summary>Decodes to RGB. With <paramref name="minWidth"/>/<paramref name="minHeight"/>, JPEGs may be decoded at
    /// 1/2, 1/4 or 1/8 scale as long as the result stays at least that large.</summary>
    public static Image8 DecodeRgb(string path, int minWidth = 0, int minHeight = 0)
    {
        if (ReadTiff(path, 3) is { } tiff) return tiff;
        using var codec = OpenCodec(path);
        return Decode(codec, path, 3, minWidth, minHeight, () => File.ReadAllBytes(path));
    }

    /// <summary>
    /// As <see cref="DecodeRgb(string, int, int)"/> for an image held in memory; <paramref name="name"/> names it in
    /// errors; <paramref name="maxPixels"/> replaces <see cref="MaxPixels"/> for this call (a server's own limit).
    /// </summary>
    public static Image8 DecodeRgb(byte[] data, string name, int minWidth = 0, int minHeight = 0, long? maxPixels = null)
    {
        if (TiffDecoder.IsTiff(data)) return TiffDecoder.Decode(data, name, 3, maxPixels ?? MaxPixels);
        using var codec = OpenCodec(data, name);
        return Decode(codec, name, 3, minWidth, minHeight, () => data, maxPixels);
    }

    /// <summary>
    /// Decodes at full size to RGBA (alpha 255), straight into the result's array: the form Skia encodes without a
    /// copy, for images that are drawn on and written again (overlays).
    /// </summary>
    public static Image8 DecodeRgba(string path)
    {
        if (ReadTiff(path, 4) is { } tiff) return tiff;
        using var codec = OpenCodec(path);
        return Decode(codec, path, 4, 0, 0, () => File.ReadAllBytes(path));
    }

    /// <summary>Decodes to one channel: the luminance of colour files (a mask saved as RGB is still read right).</summary>
    public static Image8 DecodeGray(string path, int minWidth = 0, int minHeight = 0)
    {
        if (ReadTiff(path, 1) is { } tiff) return tiff;
        using var codec = OpenCodec(path);
        return Decode(codec, path, 1, minWidth, minHeight);
    }

    /// <summary>The file decoded as TIFF (with <paramref name="channels"/>) if it is one, else null; checks the file first.</summary>
    private static Image8? ReadTiff(string path, int channels)
    {
        CheckFile(path);
        return TiffDecoder.IsTiff(path) ? TiffDecoder.Decode(File.ReadAllBytes(path), path, channels, MaxPixels) : null;
    }

    /// <summary>The gray value of a colour pixel (ITU-R BT.601 weights, rounded): how colour masks are read.</summary>
    internal static byte Luminance(byte r, byte g, byte b) => (byte)((r * 299 + g * 587 + b * 114 + 500) / 1000);

    /// <summary>Skia's codec for a file its caller has checked (<see cref="CheckFile"/>, through <see cref="ReadTiff"/>).</summary>
    private static SKCodec OpenCodec(string path) =>
        SKCodec.Create(path, out var result) ?? throw new InvalidDataException($"{path}: {Unreadable(result)}");

    private static SKCodec OpenCodec(byte[] data, string name)
    {
        if (data.Length == 0) throw new InvalidDataException($"{name}: empty file");
        // The codec owns the stream it is given and reads the bytes in place.
        var codec = SKCodec.Create(new MemoryStream(data, writable: false), out var result);
        return codec ?? throw new InvalidDataException($"{name}: {Unreadable(result)}");
    }

    // A file cut short inside its header is as truncated as one cut inside its pixels; Skia's own word for a format
    // it does not know ("Unimplemented") would only puzzle.
    private static string Unreadable(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "truncated or corrupt image data",
        SKCodecResult.Unimplemented => "not a readable image (not JPEG, PNG, BMP, WebP, GIF or TIFF)",
        _ => "not a readable image (corrupt header)",
    };

    private static bool Swaps(SKEncodedOrigin o) => o is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;

    /// <summary>
    /// Decodes at the smallest libjpeg scale that keeps the minimum size. Colour JPEGs go through TurboJPEG where the
    /// system has it (the same pixels, faster: <see cref="Native.TurboJpeg"/>; <paramref name="bytes"/> gives the
    /// file's bytes then); anything TurboJPEG declines, such as CMYK, or cannot read goes to Skia, which names the problem.
    /// </summary>
    private static Image8 Decode(SKCodec codec, string path, int channels, int minWidth, int minHeight, Func<byte[]>? bytes = null, long? maxPixels = null)
    {
        CheckPixelLimit(path, codec.Info.Width, codec.Info.Height, maxPixels);
        var origin = codec.EncodedOrigin;
        bool swap = Swaps(origin);
        // Stored (pre-rotation) size needed: swap the requested minimum when the image is stored rotated.
        int needW = swap ? minHeight : minWidth, needH = swap ? minWidth : minHeight;
        var size = codec.Info.Size;
        foreach (var scale in new[] { 0.125f, 0.25f, 0.5f })
        {
            var d = codec.GetScaledDimensions(scale);
            if (needW > 0 && needH > 0 && d.Width >= needW && d.Height >= needH && d.Width < size.Width) { size = d; break; }
        }
        var info = new SKImageInfo(size.Width, size.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        int w = size.Width, h = size.Height;
        if (channels > 1 && bytes != null && codec.EncodedFormat == SKEncodedImageFormat.Jpeg && Native.TurboJpeg.Available)
        {
            try
            {
                var format = channels == 3 ? Native.TurboJpeg.PixelFormat.Rgb : Native.TurboJpeg.PixelFormat.Rgba;
                return Orient(new Image8(w, h, channels, Native.TurboJpeg.Decode(bytes(), path, w, h, format)), origin);
            }
            catch (InvalidDataException) { /* Skia below decodes what TurboJPEG declines, or names the problem */ }
        }
        if (channels == 4)
        {
            var direct = new byte[(long)w * h * 4];
            unsafe { fixed (byte* p = direct) Check(codec.GetPixels(info, (IntPtr)p), path); }
            return Orient(new Image8(w, h, 4, direct), origin);
        }
        using var bitmap = new SKBitmap(info);
        Check(codec.GetPixels(info, bitmap.GetPixels()), path);
        var rgba = bitmap.GetPixelSpan();
        var pixels = new byte[w * h * channels];
        if (channels == 3)
        {
            for (int i = 0, j = 0; i < w * h; i++, j += 4)
            {
                pixels[3 * i] = rgba[j]; pixels[3 * i + 1] = rgba[j + 1]; pixels[3 * i + 2] = rgba[j + 2];
            }
        }
        else
        {
            for (int i = 0, j = 0; i < w * h; i++, j += 4)
                pixels[i] = Luminance(rgba[j], rgba[j + 1], rgba[j + 2]);
        }
        return Orient(new Image8(w, h, channels, pixels), origin);
    }

    private static void Check(SKCodecResult result, string path)
    {
        if (result == SKCodecResult.IncompleteInput || result == SKCodecResult.ErrorInInput)
            throw new InvalidDataException($"{path}: truncated or corrupt image data ({result})");
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"{path}: cannot decode ({result})");
    }

    /// <summary>Applies an EXIF orientation: the result is the image as it should be displayed.</summary>
    public static Image8 Orient(Image8 img, SKEncodedOrigin origin)
    {
        if (origin == SKEncodedOrigin.TopLeft) return img;
        int w = img.Width, h = img.Height, c = img.Channels;
        bool swap = Swaps(origin);
        int ow = swap ? h : w, oh = swap ? w : h;
        var dst = new byte[img.Pixels.Length];
        for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++)
        {
            // Source pixel for displayed pixel (x, y).
            var (sx, sy) = origin switch
            {
                SKEncodedOrigin.TopRight => (w - 1 - x, y),        // mirrored horizontally
                SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y), // rotated 180
                SKEncodedOrigin.BottomLeft => (x, h - 1 - y),      // mirrored vertically
                SKEncodedOrigin.LeftTop => (y, x),                 // transposed
                SKEncodedOrigin.RightTop => (y, h - 1 - x),        // display = stored rotated 90 clockwise
                SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x), // transverse
                SKEncodedOrigin.LeftBottom => (w - 1 - y, x),      // display = stored rotated 90 counter-clockwise
                _ => (x, y),
            };
            Buffer.BlockCopy(img.Pixels, (sy * w + sx) * c, dst, (y * ow + x) * c, c);
        }
        return new Image8(ow, oh, c, dst);
    }

    /// <summary>
    /// A mask decoded and resized to <paramref name="width"/> x <paramref name="height"/> in one pass over native
    /// 8-bit gray pixels (a 3008x2000 PNG costs 6 MB, not the 24 MB of RGBA and its copies), with the count of pixels
    /// that are neither 0 nor 255 at the original resolution. Colour masks fall back to the RGB path.
    /// </summary>
    public static (Image8 Mask, int OriginalWidth, int OriginalHeight, long NonBinary) DecodeMaskResized(string path, int width, int height)
        => DecodeMask(path, width, height);

    /// <summary>A mask at its full resolution as 8-bit gray (native gray decode where the file is gray).</summary>
    public static Image8 DecodeMaskFull(string path) => DecodeMask(path, 0, 0).Mask;

    private static (Image8 Mask, int OriginalWidth, int OriginalHeight, long NonBinary) DecodeMask(string path, int width, int height)
    {
        // A mask decoded whole (TIFF, colour or rotated files): counted, then resized.
        (Image8, int, int, long) FromFull(Image8 full) =>
            (width > 0 ? Resize(full, width, height) : full, full.Width, full.Height, full.Pixels.LongCount(v => v != 0 && v != 255));
        if (ReadTiff(path, 1) is { } tiff) return FromFull(tiff);
        using var codec = OpenCodec(path);
        CheckPixelLimit(path, codec.Info.Width, codec.Info.Height);
        if (codec.Info.ColorType != SKColorType.Gray8 || codec.EncodedOrigin != SKEncodedOrigin.TopLeft)
            return FromFull(Decode(codec, path, 1, 0, 0));
        var info = new SKImageInfo(codec.Info.Width, codec.Info.Height, SKColorType.Gray8, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        var result = codec.GetPixels(info, bitmap.GetPixels());
        if (result == SKCodecResult.IncompleteInput || result == SKCodecResult.ErrorInInput)
            throw new InvalidDataException($"{path}: truncated or corrupt image data ({result})");
        if (result != SKCodecResult.Success) throw new InvalidDataException($"{path}: cannot decode ({result})");
        long nonBinary = 0;
        foreach (var v in bitmap.GetPixelSpan()) if (v != 0 && v != 255) nonBinary++;
        if (width <= 0) return (new Image8(info.Width, info.Height, 1, bitmap.GetPixelSpan().ToArray()), info.Width, info.Height, nonBinary);
        using var small = bitmap.Resize(new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque),
                                        new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
                          ?? throw new InvalidOperationException("resize failed");
        return (new Image8(width, height, 1, small.GetPixelSpan().ToArray()), info.Width, info.Height, nonBinary);
    }

    /// <summary>Resizes with linear filtering and mipmaps (area-like averaging when shrinking a lot).</summary>
    public static Image8 Resize(Image8 img, int width, int height)
    {
        if (img.Width == width && img.Height == height) return img;
        // Skia works on 4-byte pixels here; gray and RGB are widened to RGBA and narrowed back.
        using var src = ToBitmap(img);
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var dst = src.Resize(info, new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear))
                        ?? throw new InvalidOperationException("resize failed");
        return FromBitmap(dst, img.Channels);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static SKBitmap ToBitmap(Image8 img)
    {
        var bmp = new SKBitmap(new SKImageInfo(img.Width, img.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var span = bmp.GetPixelSpan();
        int n = img.Width * img.Height;
        for (int i = 0; i < n; i++)
        {
            if (img.Channels == 1) { byte v = img.Pixels[i]; span[4 * i] = v; span[4 * i + 1] = v; span[4 * i + 2] = v; }
            else { span[4 * i] = img.Pixels[3 * i]; span[4 * i + 1] = img.Pixels[3 * i + 1]; span[4 * i + 2] = img.Pixels[3 * i + 2]; }
            span[4 * i + 3] = 255;
        }
        return bmp;
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static Image8 FromBitmap(SKBitmap bmp, int channels)
    {
        var span = bmp.GetPixelSpan();
        int n = bmp.Width * bmp.Height;
        var p = new byte[n * channels];
        for (int i = 0; i < n; i++)
        {
            if (channels == 1) p[i] = span[4 * i];
            else { p[3 * i] = span[4 * i]; p[3 * i + 1] = span[4 * i + 1]; p[3 * i + 2] = span[4 * i + 2]; }
        }
        return new Image8(bmp.Width, bmp.Height, channels, p);
    }

    /// <summary>
    /// Encodes as PNG bytes: gray images as 8-bit gray PNGs, RGB as opaque colour PNGs. The "Sub" row filter and zlib
    /// level 3: on mostly flat masks and probability maps this gives the size of Skia's adaptive filtering at the
    /// same level 4x faster (a 2592x1936 probability map: 119 KB in 17 ms against 118 KB in 70 ms; the default
    /// level 6 takes 107 ms for 72 KB).
    /// </summary>
    public static byte[] EncodePng(Image8 img) => Encode(img, p => p.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.Sub, 3)), "PNG");

    /// <summary>
    /// Encodes through a pixmap: gray and RGBA pixels are read where they lie (no copy); RGB is widened to RGBA first.
    /// </summary>
    private static byte[] Encode(Image8 img, Func<SKPixmap, SKData?> encode, string format)
    {
        if (img.Channels == 3)
        {
            using var bmp = ToBitmap(img);
            using var pixmap = bmp.PeekPixels();
            using var data = encode(pixmap) ?? throw new InvalidOperationException($"{format} encoding failed");
            return data.ToArray();
        }
        var info = new SKImageInfo(img.Width, img.Height, img.Channels == 1 ? SKColorType.Gray8 : SKColorType.Rgba8888, SKAlphaType.Opaque);
        unsafe
        {
            fixed (byte* p = img.Pixels)
            {
                using var view = new SKPixmap(info, (IntPtr)p);
                using var data = encode(view) ?? throw new InvalidOperationException($"{format} encoding failed");
                return data.ToArray();
            }
        }
    }

    /// <summary>Writes a PNG (atomically).</summary>
    public static void SavePng(Image8 img, string path) => Interop.AtomicFile.WriteAllBytes(path, EncodePng(img));

    /// <summary>A JPEG of an RGB(A) or gray image: for images people look at (overlays), never for masks.</summary>
    public static byte[] EncodeJpeg(Image8 img, int quality = 90)
    {
        if (Native.TurboJpeg.Available)
            return Native.TurboJpeg.Encode(img.Pixels, img.Width, img.Height,
                img.Channels switch { 1 => Native.TurboJpeg.PixelFormat.Gray, 3 => Native.TurboJpeg.PixelFormat.Rgb, _ => Native.TurboJpeg.PixelFormat.Rgba }, quality);
        return Encode(img, p => p.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore)), "JPEG");
    }

    /// <summary>Writes a JPEG (atomically).</summary>
    public static void SaveJpeg(Image8 img, string path, int quality = 90) => Interop.AtomicFile.WriteAllBytes(path, EncodeJpeg(img, quality));
}

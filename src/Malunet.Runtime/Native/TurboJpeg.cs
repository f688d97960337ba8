using System.Runtime.InteropServices;

namespace Malunet.Native;

/// <summary>
/// JPEG decoding and encoding through the system's libjpeg-turbo TurboJPEG library (<c>libturbojpeg.so.0</c>, Debian's
/// <c>libturbojpeg0</c>), whose SIMD code decodes and encodes large photos about twice as fast as the codec inside
/// SkiaSharp. Optional: <see cref="Available"/> is false where the library is missing (or
/// <c>MALUNET_TURBOJPEG=0</c>), and callers then use Skia. Both run libjpeg-turbo's accurate integer IDCT with smooth
/// chroma upsampling, so they give the same pixels (tested).
/// </summary>
internal static class TurboJpeg
{
    private const string Lib = "libturbojpeg.so.0";

    /// <summary>Pixel formats of the TurboJPEG API (TJPF).</summary>
    public enum PixelFormat
    {
        /// <summary>3 bytes a pixel.</summary>
        Rgb = 0,
        /// <summary>1 byte a pixel.</summary>
        Gray = 6,
        /// <summary>4 bytes a pixel, alpha 255.</summary>
        Rgba = 7,
    }

    private const int Subsampling420 = 2;
    private const int AccurateDct = 4096, FastDct = 2048;

    [DllImport(Lib)] private static extern IntPtr tjInitDecompress();
    [DllImport(Lib)] private static extern IntPtr tjInitCompress();
    [DllImport(Lib)] private static extern int tjDestroy(IntPtr handle);
    [DllImport(Lib)] private static extern unsafe int tjDecompressHeader3(IntPtr handle, byte* jpeg, nuint size, out int width, out int height, out int subsampling, out int colorspace);
    [DllImport(Lib)] private static extern unsafe int tjDecompress2(IntPtr handle, byte* jpeg, nuint size, byte* dst, int width, int pitch, int height, int pixelFormat, int flags);
    [DllImport(Lib)] private static extern unsafe int tjCompress2(IntPtr handle, byte* src, int width, int pitch, int height, int pixelFormat, ref IntPtr jpeg, ref nuint size, int subsampling, int quality, int flags);
    [DllImport(Lib)] private static extern void tjFree(IntPtr buffer);
    [DllImport(Lib)] private static extern IntPtr tjGetErrorStr2(IntPtr handle);

    private static readonly Lazy<bool> available = new(() =>
    {
        if (Environment.GetEnvironmentVariable("MALUNET_TURBOJPEG") == "0") return false;
        try
        {
            var h = tjInitDecompress();
            if (h == IntPtr.Zero) return false;
            tjDestroy(h);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    });

    /// <summary>Whether the system's TurboJPEG (libturbojpeg.so.0) could be loaded.</summary>
    public static bool Available => available.Value;

    private static string Error(IntPtr handle) => Marshal.PtrToStringAnsi(tjGetErrorStr2(handle)) ?? "unknown error";

    /// <summary>
    /// Decodes a JPEG held in memory to <paramref name="width"/> x <paramref name="height"/>, which must be one of the
    /// scaled sizes libjpeg offers (the full size, or 1/2, 1/4, 1/8 rounded up). Any warning (a truncated file among
    /// them) is an <see cref="InvalidDataException"/> naming <paramref name="name"/>.
    /// </summary>
    public static unsafe byte[] Decode(byte[] jpeg, string name, int width, int height, PixelFormat format)
    {
        int channels = format switch { PixelFormat.Rgb => 3, PixelFormat.Gray => 1, _ => 4 };
        var pixels = GC.AllocateUninitializedArray<byte>(checked(width * height * channels)); // every byte is written
        var h = tjInitDecompress();
        try
        {
            fixed (byte* src = jpeg)
            fixed (byte* dst = pixels)
            {
                if (tjDecompress2(h, src, (nuint)jpeg.Length, dst, width, width * channels, height, (int)format, AccurateDct) != 0)
                    throw new InvalidDataException($"{name}: truncated or corrupt image data ({Error(h)})");
            }
        }
        finally { tjDestroy(h); }
        return pixels; // libjpeg-turbo fills the alpha of RGBA output with 255
    }

    /// <summary>
    /// Encodes RGB, RGBA or gray pixels as a JPEG (4:2:0 chroma for colour) of the given quality, with the fast
    /// forward DCT: these JPEGs are for eyes (overlays), and its error is far below the quantisation's.
    /// </summary>
    public static unsafe byte[] Encode(byte[] pixels, int width, int height, PixelFormat format, int quality)
    {
        int channels = format switch { PixelFormat.Rgb => 3, PixelFormat.Gray => 1, _ => 4 };
        var h = tjInitCompress();
        IntPtr buffer = IntPtr.Zero;
        nuint size = 0;
        try
        {
            fixed (byte* src = pixels)
            {
                if (tjCompress2(h, src, width, width * channels, height, (int)format, ref buffer, ref size,
                                format == PixelFormat.Gray ? 3 : Subsampling420, quality, FastDct) != 0)
                    throw new InvalidOperationException($"JPEG encoding failed ({Error(h)})");
            }
            var result = new byte[(int)size];
            Marshal.Copy(buffer, result, 0, result.Length);
            return result;
        }
        finally
        {
            if (buffer != IntPtr.Zero) tjFree(buffer);
            tjDestroy(h);
        }
    }
}

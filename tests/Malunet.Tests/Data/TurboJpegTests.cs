using Malunet.Data;
using Malunet.Native;
using SkiaSharp;

namespace Malunet.Tests.Data;

/// <summary>
/// The system's TurboJPEG (optional; installed by .ci/run) decodes to exactly Skia's pixels at every libjpeg scale, so switching
/// decoders changes no network input, and what it encodes decodes back closely.
/// </summary>
public class TurboJpegTests
{
    public static IEnumerable<object[]> Jpegs() =>
        Directory.GetFiles(Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images"))
            .Concat(Directory.GetFiles(Path.Combine(SharedData.Isic2017, "ISIC-2017_Test_v2_Data"), "*.jpg").Order().Take(3))
            .Select(f => new object[] { f });

    [TurboJpegTheory]
    [MemberData(nameof(Jpegs))]
    public void Decodes_to_exactly_skias_pixels_at_every_scale(string path)
    {
        var bytes = File.ReadAllBytes(path);
        using var codec = SKCodec.Create(path);
        foreach (var scale in new[] { 1f, 0.5f, 0.25f, 0.125f })
        {
            var d = codec.GetScaledDimensions(scale);
            var info = new SKImageInfo(d.Width, d.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
            using var bitmap = new SKBitmap(info);
            Assert.Equal(SKCodecResult.Success, codec.GetPixels(info, bitmap.GetPixels()));
            var rgba = TurboJpeg.Decode(bytes, path, d.Width, d.Height, TurboJpeg.PixelFormat.Rgba);
            Assert.True(bitmap.GetPixelSpan().SequenceEqual(rgba), $"{Path.GetFileName(path)} at {d.Width}x{d.Height}");
            var rgb = TurboJpeg.Decode(bytes, path, d.Width, d.Height, TurboJpeg.PixelFormat.Rgb);
            for (int i = 0; i < d.Width * d.Height; i += 997)
                Assert.Equal((rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]), (rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]));
        }
    }

    [TurboJpegFact]
    public void A_truncated_jpeg_is_an_error_naming_the_file_and_an_encoded_one_decodes_back_closely()
    {
        var path = Directory.GetFiles(Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images")).Order().First();
        var bytes = File.ReadAllBytes(path);
        var (w, h) = ImageDecoder.ReadSize(path);
        var e = Assert.Throws<InvalidDataException>(() => TurboJpeg.Decode(bytes[..(bytes.Length / 2)], "half.jpg", w, h, TurboJpeg.PixelFormat.Rgb));
        Assert.StartsWith("half.jpg: ", e.Message);

        var small = ImageDecoder.DecodeRgb(path, 256, 256);
        var again = TurboJpeg.Decode(TurboJpeg.Encode(small.Pixels, small.Width, small.Height, TurboJpeg.PixelFormat.Rgb, 95), "x", small.Width, small.Height, TurboJpeg.PixelFormat.Rgb);
        double meanError = small.Pixels.Zip(again).Average(p => Math.Abs(p.First - p.Second));
        Assert.True(meanError < 2.0, $"mean error {meanError:F2}");
    }
}

using Malunet.Data;
using SkiaSharp;

namespace Malunet.Tests.Data;

public class ImageDecoderTests : TempFolderTest
{

    /// <summary>A 40x20 image: left half red, right half blue, with a white pixel block at the top-left.</summary>
    internal static Image8 Asymmetric()
    {
        int w = 40, h = 20;
        var p = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            int o = (y * w + x) * 3;
            if (x < 4 && y < 4) { p[o] = 255; p[o + 1] = 255; p[o + 2] = 255; }
            else if (x < w / 2) p[o] = 230;
            else p[o + 2] = 230;
        }
        return new Image8(w, h, 3, p);
    }

    /// <summary>Inserts an EXIF APP1 segment with the given orientation right after the JPEG's SOI marker.</summary>
    internal static byte[] WithExifOrientation(byte[] jpeg, ushort orientation)
    {
        var tiff = new List<byte>();
        tiff.AddRange(new byte[] { (byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0 });          // little-endian TIFF, IFD at 8
        tiff.AddRange(new byte[] { 1, 0 });                                              // one entry
        tiff.AddRange(new byte[] { 0x12, 0x01, 3, 0, 1, 0, 0, 0, (byte)orientation, 0, 0, 0 }); // 0x0112 SHORT x1
        tiff.AddRange(new byte[] { 0, 0, 0, 0 });                                        // no next IFD
        var payload = new List<byte>(System.Text.Encoding.ASCII.GetBytes("Exif\0\0"));
        payload.AddRange(tiff);
        int len = payload.Count + 2;
        var app1 = new List<byte> { 0xFF, 0xE1, (byte)(len >> 8), (byte)(len & 0xff) };
        app1.AddRange(payload);
        return jpeg[..2].Concat(app1).Concat(jpeg[2..]).ToArray();
    }

    private string Jpeg(Image8 img, string name, ushort? orientation = null)
    {
        var p = Path.Combine(dir, name);
        ImageDecoder.SaveJpeg(img, p, 100);
        if (orientation is { } o) File.WriteAllBytes(p, WithExifOrientation(File.ReadAllBytes(p), o));
        return p;
    }

    [Theory]
    [InlineData(6)] // stored rotated: display = stored turned 90 degrees clockwise
    [InlineData(8)] // display = stored turned 90 degrees counter-clockwise
    [InlineData(3)] // 180 degrees
    public void Exif_orientation_is_applied(ushort orientation)
    {
        var path = Jpeg(Asymmetric(), $"o{orientation}.jpg", orientation);
        var img = ImageDecoder.DecodeRgb(path);
        var size = ImageDecoder.ReadSize(path);
        Assert.Equal((img.Width, img.Height), size);
        bool IsWhite(int x, int y) => img[x, y, 0] > 200 && img[x, y, 1] > 200 && img[x, y, 2] > 200;
        switch (orientation)
        {
            case 6:
                Assert.Equal((20, 40), (img.Width, img.Height));
                Assert.True(IsWhite(18, 1));  // top-left of the stored image ends at the top-right
                Assert.True(img[10, 5, 0] > 150 && img[10, 35, 2] > 150); // red on top, blue at the bottom
                break;
            case 8:
                Assert.Equal((20, 40), (img.Width, img.Height));
                Assert.True(IsWhite(1, 38));  // ... at the bottom-left
                Assert.True(img[10, 35, 0] > 150 && img[10, 5, 2] > 150);
                break;
            case 3:
                Assert.Equal((40, 20), (img.Width, img.Height));
                Assert.True(IsWhite(38, 18));
                break;
        }
    }

    [Fact]
    public void Grayscale_and_rgba_pngs_become_rgb()
    {
        var gray = Path.Combine(dir, "g.png");
        ImageDecoder.SavePng(new Image8(8, 8, 1, Enumerable.Repeat((byte)77, 64).ToArray()), gray);
        var g = ImageDecoder.DecodeRgb(gray);
        Assert.Equal(3, g.Channels);
        Assert.Equal(77, g[3, 3, 1]);

        var rgba = Path.Combine(dir, "a.png");
        using (var bmp = new SKBitmap(new SKImageInfo(8, 8, SKColorType.Rgba8888, SKAlphaType.Unpremul)))
        {
            bmp.Erase(new SKColor(10, 20, 30, 128));
            using var data = SKImage.FromBitmap(bmp).Encode(SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(rgba, data.ToArray());
        }
        var a = ImageDecoder.DecodeRgb(rgba);
        Assert.Equal((10, 20, 30), (a[0, 0, 0], a[0, 0, 1], a[0, 0, 2]));
    }

    [Fact]
    public void Corrupt_truncated_and_empty_files_are_named_errors()
    {
        var good = Jpeg(Asymmetric(), "good.jpg");
        var bytes = File.ReadAllBytes(good);
        var truncated = Path.Combine(dir, "truncated.jpg");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.Contains("truncated.jpg", Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(truncated)).Message);
        var text = Path.Combine(dir, "text.png");
        File.WriteAllText(text, "this is not an image");
        Assert.Contains("text.png", Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(text)).Message);
        var empty = Path.Combine(dir, "empty.jpg");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(empty)).Message);
    }

    [Fact]
    public void Full_resolution_jpeg_decodes_at_reduced_scale_when_asked()
    {
        var path = Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images");
        var file = Directory.GetFiles(path, "*.jpg").First();
        var (w, h) = ImageDecoder.ReadSize(file);
        var small = ImageDecoder.DecodeRgb(file, 256, 256);
        Assert.True(small.Width >= 256 && small.Height >= 256);
        Assert.True(small.Width <= w / 4, $"decoded at {small.Width}x{small.Height} from {w}x{h}");
    }
}

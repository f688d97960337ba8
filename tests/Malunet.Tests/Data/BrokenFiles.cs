using System.Buffers.Binary;
using System.IO.Compression;
using BitMiracle.LibTiff.Classic;
using Malunet.Data;

namespace Malunet.Tests.Data;

/// <summary>
/// A corpus of the files that turn up in real folders, made by the tests (nothing binary committed): good images of
/// every kind the decoder reads (JPEG, PNG, BMP with a negative height (top-down rows, which is valid), GIF, TIFF in
/// several encodings) and broken ones (a header declaring 10 gigapixels, a bad CRC, a corrupt Huffman table, a zero
/// width, a GIF without frames, empty, truncated, text named .jpg, a directory named x.jpg, a link named zero.png to
/// /dev/zero), plus files that are not images at all. Each broken file comes with the words its error must contain.
/// </summary>
public static class BrokenFiles
{
    public sealed record Corpus(IReadOnlyList<string> Good, IReadOnlyDictionary<string, string> Bad, IReadOnlyList<string> NotImages);

    /// <summary>A real ISIC 2017 test image (a JPEG) and its mask (a PNG), the sources of the good files.</summary>
    public static string RealJpeg => Path.Combine(SharedData.Isic2017, "ISIC-2017_Test_v2_Data", "ISIC_0012223.jpg");
    public static string RealMask => Path.Combine(SharedData.Isic2017, "ISIC-2017_Test_v2_Part1_GroundTruth", "ISIC_0012223_segmentation.png");

    /// <summary>Writes the corpus into <paramref name="folder"/> (images only; masks are the caller's).</summary>
    public static Corpus Write(string folder)
    {
        Directory.CreateDirectory(folder);
        var good = new List<string>();
        var bad = new Dictionary<string, string>();
        string P(string name) => Path.Combine(folder, name);
        var jpeg = File.ReadAllBytes(RealJpeg);
        var image = ImageDecoder.Resize(ImageDecoder.DecodeRgb(RealJpeg), 96, 72);

        File.WriteAllBytes(P("a_photo.jpg"), jpeg); good.Add("a_photo");
        ImageDecoder.SavePng(image, P("b_photo.png")); good.Add("b_photo");
        File.WriteAllBytes(P("c_topdown.bmp"), TopDownBmp(image)); good.Add("c_topdown");
        WriteTiff(P("d_rgb_lzw.tif"), image, Compression.LZW, 8); good.Add("d_rgb_lzw");
        WriteTiff(P("e_gray16_deflate.tiff"), image, Compression.ADOBE_DEFLATE, 16, gray: true); good.Add("e_gray16_deflate");

        File.WriteAllBytes(P("huge.png"), Png(100_000, 100_000, colourType: 2, idat: Zlib(new byte[16]))); bad["huge.png"] = "more than the limit";
        var crc = ImageDecoder.EncodePng(image);
        crc[29] ^= 0xFF; // the IHDR chunk's CRC
        File.WriteAllBytes(P("bad_crc.png"), crc); bad["bad_crc.png"] = "";
        File.WriteAllBytes(P("bad_huffman.jpg"), CorruptHuffman(jpeg)); bad["bad_huffman.jpg"] = "";
        File.WriteAllBytes(P("zero_width.png"), Png(0, 64, colourType: 0, idat: Zlib(new byte[65]))); bad["zero_width.png"] = "";
        File.WriteAllBytes(P("no_frames.gif"), "GIF89a"u8.ToArray().Concat(new byte[] { 16, 0, 16, 0, 0, 0, 0, 0x3B }).ToArray()); bad["no_frames.gif"] = "";
        File.WriteAllBytes(P("empty.jpg"), []); bad["empty.jpg"] = "empty file";
        File.WriteAllBytes(P("truncated.jpg"), jpeg[..(jpeg.Length / 3)]); bad["truncated.jpg"] = "truncated";
        File.WriteAllText(P("text.jpg"), "this is not a JPEG\n"); bad["text.jpg"] = "not a readable image";
        Directory.CreateDirectory(P("x.jpg")); bad["x.jpg"] = "a directory";
        File.CreateSymbolicLink(P("zero.png"), "/dev/zero"); bad["zero.png"] = "not a regular file";

        File.WriteAllText(P("notes.txt"), "scanned on the new dermatoscope\n");
        File.WriteAllBytes(P("scan.pdf"), "%PDF-1.4\n%%EOF\n"u8.ToArray());
        File.WriteAllBytes(P("._a_photo.jpg"), new byte[] { 0, 5, 22, 7 }); // macOS metadata beside a copied file
        return new Corpus(good, bad, ["._a_photo.jpg", "notes.txt", "scan.pdf"]);
    }

    /// <summary>A BMP with a negative height: rows stored top first (valid, and rare).</summary>
    public static byte[] TopDownBmp(Image8 img)
    {
        var b = LayoutFixtures.Bmp24(img);
        int h = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(22)), w = img.Width, stride = (w * 3 + 3) / 4 * 4;
        BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(22), -h);
        var rows = b.AsSpan(54, stride * h).ToArray();
        for (int y = 0; y < h; y++) rows.AsSpan((h - 1 - y) * stride, stride).CopyTo(b.AsSpan(54 + y * stride));
        return b;
    }

    /// <summary>A TIFF of the image (RGB, or gray as its luminance) with the given compression and bits per sample.</summary>
    public static void WriteTiff(string path, Image8 rgb, Compression compression, int bits, bool gray = false, bool alpha = false)
    {
        using var tiff = Tiff.Open(path, "w") ?? throw new IOException($"cannot write {path}");
        int w = rgb.Width, h = rgb.Height, samples = gray ? 1 : alpha ? 4 : 3;
        tiff.SetField(TiffTag.IMAGEWIDTH, w);
        tiff.SetField(TiffTag.IMAGELENGTH, h);
        tiff.SetField(TiffTag.SAMPLESPERPIXEL, samples);
        tiff.SetField(TiffTag.BITSPERSAMPLE, bits);
        tiff.SetField(TiffTag.PHOTOMETRIC, gray ? Photometric.MINISBLACK : Photometric.RGB);
        tiff.SetField(TiffTag.PLANARCONFIG, PlanarConfig.CONTIG);
        tiff.SetField(TiffTag.COMPRESSION, compression);
        tiff.SetField(TiffTag.ROWSPERSTRIP, 16);
        if (alpha) tiff.SetField(TiffTag.EXTRASAMPLES, 1, new short[] { (short)ExtraSample.UNASSALPHA });
        if (compression == Compression.JPEG) tiff.SetField(TiffTag.JPEGQUALITY, 95);
        int bytesPerSample = bits / 8;
        var row = new byte[w * samples * bytesPerSample];
        for (int y = 0; y < h; y++)
        {
            for (int x = 0; x < w; x++)
                for (int c = 0; c < samples; c++)
                {
                    byte v = c == 3 ? (byte)255 : gray ? Luminance(rgb, x, y) : rgb[x, y, c];
                    int at = (x * samples + c) * bytesPerSample;
                    if (bits == 8) row[at] = v;
                    else BinaryPrimitives.WriteUInt16LittleEndian(row.AsSpan(at), (ushort)(v * 257)); // exact 8-bit value scaled to 16
                }
            if (!tiff.WriteScanline(row, y)) throw new IOException($"cannot write row {y} of {path}");
        }
    }

    private static byte Luminance(Image8 rgb, int x, int y) => (byte)((rgb[x, y, 0] * 299 + rgb[x, y, 1] * 587 + rgb[x, y, 2] * 114 + 500) / 1000);

    /// <summary>A JPEG whose first Huffman table is overwritten with bytes that give no valid code lengths.</summary>
    public static byte[] CorruptHuffman(byte[] jpeg)
    {
        var b = (byte[])jpeg.Clone();
        for (int i = 2; i + 4 < b.Length; )
        {
            if (b[i] != 0xFF) break;
            int marker = b[i + 1], length = (b[i + 2] << 8) | b[i + 3];
            if (marker == 0xC4)
            {
                for (int k = i + 5; k < i + 5 + 16; k++) b[k] = 0xFF; // 255 codes of every length: impossible
                return b;
            }
            i += 2 + length;
        }
        throw new InvalidDataException("no Huffman table found");
    }

    /// <summary>A PNG with the given header and image data, every CRC right.</summary>
    public static byte[] Png(int width, int height, byte colourType, byte[] idat)
    {
        var s = new MemoryStream();
        s.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; ihdr[9] = colourType;
        Chunk(s, "IHDR", ihdr);
        Chunk(s, "IDAT", idat);
        Chunk(s, "IEND", []);
        return s.ToArray();
    }

    private static byte[] Zlib(byte[] raw)
    {
        var s = new MemoryStream();
        using (var z = new ZLibStream(s, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw);
        return s.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> n = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(n, data.Length);
        s.Write(n);
        var typed = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(n, Crc32(typed));
        s.Write(n);
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}

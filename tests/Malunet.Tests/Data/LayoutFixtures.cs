using Malunet.Data;

namespace Malunet.Tests.Data;

/// <summary>
/// Small generated datasets in the layouts users unpack (PH2, ISIC 2016, HAM10000, plain folders with any common mask
/// name): real image files (synthetic lesions) so that the same fixtures serve the pairing tests and the CLI.
/// </summary>
public static class LayoutFixtures
{
    /// <summary>Writes a synthetic lesion image and its mask in the formats the extensions name (.jpg, .png, .bmp).</summary>
    public static void WritePair(string imagePath, string maskPath, int seed, int size = 64)
    {
        var (rgb, mask) = SyntheticLesions.Render(new Random(seed), size);
        Write(new Image8(size, size, 3, rgb), imagePath);
        Write(new Image8(size, size, 1, mask), maskPath);
    }

    public static void Write(Image8 img, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".jpg": ImageDecoder.SaveJpeg(img, path, 92); break;
            case ".png": ImageDecoder.SavePng(img, path); break;
            case ".bmp": File.WriteAllBytes(path, Bmp24(img)); break;
            default: throw new ArgumentException($"no writer for {path}");
        }
    }

    /// <summary>An uncompressed 24-bit BMP (PH2's format), bottom-up rows padded to 4 bytes.</summary>
    public static byte[] Bmp24(Image8 img)
    {
        int w = img.Width, h = img.Height, stride = (w * 3 + 3) / 4 * 4;
        var b = new byte[54 + stride * h];
        void I32(int o, int v) => BitConverter.GetBytes(v).CopyTo(b, o);
        b[0] = (byte)'B'; b[1] = (byte)'M'; I32(2, b.Length); I32(10, 54); I32(14, 40); I32(18, w); I32(22, h);
        b[26] = 1; b[28] = 24; I32(34, stride * h);
        for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
        {
            int o = 54 + (h - 1 - y) * stride + x * 3, i = (y * w + x) * img.Channels;
            byte r = img.Pixels[i], g = img.Pixels[i + (img.Channels == 3 ? 1 : 0)], bl = img.Pixels[i + (img.Channels == 3 ? 2 : 0)];
            b[o] = bl; b[o + 1] = g; b[o + 2] = r;
        }
        return b;
    }

    /// <summary>PH2 as it unpacks: <c>PH2Dataset/PH2 Dataset images/IMDnnn/...</c> with _Dermoscopic_Image, _lesion and _roi folders.</summary>
    public static string Ph2(string root, int cases)
    {
        var images = Path.Combine(root, "PH2Dataset", "PH2 Dataset images");
        for (int i = 0; i < cases; i++)
        {
            var id = $"IMD{i + 2:D3}";
            var c = Path.Combine(images, id);
            WritePair(Path.Combine(c, $"{id}_Dermoscopic_Image", $"{id}.bmp"), Path.Combine(c, $"{id}_lesion", $"{id}_lesion.bmp"), i);
            WritePair(Path.Combine(c, $"{id}_roi", $"{id}_R1_Label4.bmp"), Path.Combine(c, $"{id}_roi", $"{id}_R2_Label4.bmp"), 100 + i);
        }
        File.WriteAllText(Path.Combine(root, "PH2Dataset", "PH2_dataset.txt"), "|| Name || Histological Diagnosis ||\n");
        return Path.Combine(root, "PH2Dataset");
    }
}

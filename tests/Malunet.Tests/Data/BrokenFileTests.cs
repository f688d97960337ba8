using System.Diagnostics;
using BitMiracle.LibTiff.Classic;
using Malunet.Data;
using Malunet.Tests.Cli;

namespace Malunet.Tests.Data;

/// <summary>
/// Every bad file in every verb: the generated corpus (<see cref="BrokenFiles"/>) through the decoder, predict,
/// evaluate and train --skip-bad (serve in ServeApiTests); TIFF against the same image as PNG; and mutated copies of
/// real files, each decoded or refused with a named error, never a crash, a hang or an allocation past the limit.
/// </summary>
public class BrokenFileTests : TempFolderTest
{
    [Fact]
    public void Every_corpus_file_decodes_or_gives_one_named_reason()
    {
        var corpus = BrokenFiles.Write(Path.Combine(dir, "images"));
        foreach (var id in corpus.Good)
        {
            var path = Directory.GetFiles(Path.Combine(dir, "images"), id + ".*").Single();
            var img = ImageDecoder.DecodeRgb(path);
            Assert.True(img.Width > 0 && img.Height > 0, path);
        }
        foreach (var (name, reason) in corpus.Bad)
        {
            var path = Path.Combine(dir, "images", name);
            var e = Assert.ThrowsAny<Exception>(() => ImageDecoder.DecodeRgb(path, 256, 256));
            Assert.True(e is InvalidDataException or FileNotFoundException, $"{name}: {e.GetType().Name}: {e.Message}");
            Assert.StartsWith(path + ": ", e.Message);
            Assert.Contains(reason, e.Message);
            Assert.DoesNotContain("Unimplemented", e.Message);
            Assert.DoesNotContain("\n", e.Message);
        }
    }

    [Fact]
    public void The_pixel_limit_is_read_from_the_header_before_anything_is_allocated()
    {
        var path = Path.Combine(dir, "huge.png");
        File.WriteAllBytes(path, BrokenFiles.Png(100_000, 100_000, colourType: 2, idat: []));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(path));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1_000_000, "the refusal allocated pixels");
        var reason = Assert.IsType<ImageTooLargeException>(e.InnerException);
        Assert.Equal((100_000L, 100_000L, ImageDecoder.DefaultMaxPixels), (reason.Width, reason.Height, reason.Limit));
        Assert.Equal($"{path}: 100000x100000 is 10,000,000,000 pixels, more than the limit of 50,000,000", e.Message);
        Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeMaskResized(path, 256, 256));
        Assert.Throws<InvalidDataException>(() => ClassMasks.Decode(path));
    }

    public static TheoryData<string, int, bool, bool> TiffCases() => new()
    {
        { "none", 8, false, false }, { "lzw", 8, false, false }, { "deflate", 8, false, false },
        { "lzw", 16, false, false }, { "deflate", 8, true, false }, { "none", 16, true, false }, { "lzw", 8, false, true },
    };

    [Theory]
    [MemberData(nameof(TiffCases))]
    public void A_tiff_decodes_to_the_pixels_of_the_same_image_as_png(string compression, int bits, bool gray, bool alpha)
    {
        var rgb = ImageDecoder.Resize(ImageDecoder.DecodeRgb(BrokenFiles.RealJpeg), 120, 90);
        var png = Path.Combine(dir, "same.png");
        var reference = gray ? ImageDecoder.DecodeGray(Save(rgb, png)) : ImageDecoder.DecodeRgb(Save(rgb, png));
        var tif = Path.Combine(dir, "same.tif");
        BrokenFiles.WriteTiff(tif, rgb, compression switch { "lzw" => Compression.LZW, "deflate" => Compression.ADOBE_DEFLATE, _ => Compression.NONE }, bits, gray, alpha);
        var decoded = gray ? ImageDecoder.DecodeGray(tif) : ImageDecoder.DecodeRgb(tif);
        Assert.Equal((reference.Width, reference.Height, reference.Channels), (decoded.Width, decoded.Height, decoded.Channels));
        // 8-bit samples are the PNG's exactly; 16-bit ones (v * 257) come back to v.
        Assert.Equal(reference.Pixels, decoded.Pixels);
        Assert.Equal((120, 90), ImageDecoder.ReadSize(tif));
        if (!gray) Assert.Equal(reference.Pixels, ImageDecoder.DecodeRgb(File.ReadAllBytes(tif), "upload.tif").Pixels);
    }

    [Fact]
    public void A_jpeg_compressed_tiff_is_close_to_the_image_and_a_multi_page_tiff_gives_its_first_page()
    {
        var rgb = ImageDecoder.Resize(ImageDecoder.DecodeRgb(BrokenFiles.RealJpeg), 128, 96);
        var tif = Path.Combine(dir, "jpeg.tif");
        BrokenFiles.WriteTiff(tif, rgb, Compression.JPEG, 8);
        var decoded = ImageDecoder.DecodeRgb(tif);
        double meanError = rgb.Pixels.Zip(decoded.Pixels, (a, b) => Math.Abs(a - b)).Average();
        Assert.True(meanError < 3, $"JPEG-in-TIFF mean error {meanError:F2} levels");

        var pages = Path.Combine(dir, "pages.tif");
        using (var tiff = Tiff.Open(pages, "w"))
        {
            foreach (var (w, h) in new[] { (40, 30), (20, 10) })
            {
                tiff.SetField(TiffTag.IMAGEWIDTH, w); tiff.SetField(TiffTag.IMAGELENGTH, h);
                tiff.SetField(TiffTag.SAMPLESPERPIXEL, 1); tiff.SetField(TiffTag.BITSPERSAMPLE, 8);
                tiff.SetField(TiffTag.PHOTOMETRIC, Photometric.MINISBLACK);
                for (int y = 0; y < h; y++) tiff.WriteScanline(Enumerable.Repeat((byte)(w + y), w).ToArray(), y);
                tiff.WriteDirectory();
            }
        }
        var first = ImageDecoder.DecodeGray(pages);
        Assert.Equal((40, 30), (first.Width, first.Height));
        Assert.Equal(40 + 29, first[0, 29, 0]);
    }

    [Fact]
    public void Mutated_copies_of_real_files_decode_or_give_a_named_error_within_seconds()
    {
        var sources = new[] { BrokenFiles.RealJpeg, BrokenFiles.RealMask, Path.Combine(dir, "real.tif") };
        BrokenFiles.WriteTiff(sources[2], ImageDecoder.Resize(ImageDecoder.DecodeRgb(BrokenFiles.RealJpeg), 64, 48), Compression.LZW, 8);
        const long Limit = 4_000_000; // a mutated header may declare anything: this keeps the 1000 decodes fast
        var random = new Random(20261203);
        var clock = Stopwatch.StartNew();
        int decoded = 0, refused = 0;
        for (int i = 0; i < 1000; i++)
        {
            var bytes = File.ReadAllBytes(sources[i % 3]);
            bytes = Mutate(bytes, random);
            var name = $"mutant_{i}{Path.GetExtension(sources[i % 3])}";
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                // Decoded at the network's size, as every verb does (JPEG scaling keeps the work small).
                var img = ImageDecoder.DecodeRgb(bytes, name, 256, 256, maxPixels: Limit);
                Assert.True((long)img.Width * img.Height <= Limit);
                decoded++;
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith(name + ": ", e.Message);
                refused++;
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            // At most an RGBA raster and the result for an image at the limit (TIFF's path, the largest), plus the file.
            Assert.True(allocated < 8L * Limit + 3 * bytes.Length + 1_000_000, $"{name}: {allocated:N0} bytes allocated");
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"1000 mutants took {clock.Elapsed.TotalSeconds:F1} s");
        Assert.True(decoded > 0 && refused > 0, $"decoded {decoded}, refused {refused}: the mutations should give both");
    }

    /// <summary>Bit flips, a cut end, or two swapped blocks; the first bytes (the signature) are kept half the time.</summary>
    private static byte[] Mutate(byte[] b, Random random)
    {
        switch (random.Next(3))
        {
            case 0:
                for (int k = random.Next(1, 9); k > 0; k--)
                {
                    int at = random.Next(b.Length);
                    b[at] ^= (byte)(1 << random.Next(8));
                }
                return b;
            case 1:
                return b[..random.Next(1, b.Length)];
            default:
                int size = random.Next(1, Math.Max(2, b.Length / 8));
                int a = random.Next(b.Length - size), c = random.Next(b.Length - size);
                var block = b.AsSpan(a, size).ToArray();
                b.AsSpan(c, size).CopyTo(b.AsSpan(a, size));
                block.CopyTo(b.AsSpan(c, size));
                return b;
        }
    }

    private static string Save(Image8 img, string path)
    {
        ImageDecoder.SavePng(img, path);
        return path;
    }

    /// <summary>The corpus as a plain dataset (images/ + masks/): every image but the unreadable ones has a real
    /// mask at its size, one good image has a mask 100 times smaller.</summary>
    private (BrokenFiles.Corpus Corpus, string Data) Dataset()
    {
        var data = Path.Combine(dir, "data");
        var corpus = BrokenFiles.Write(Path.Combine(data, "images"));
        var masks = Path.Combine(data, "masks");
        Directory.CreateDirectory(masks);
        var mask = ImageDecoder.DecodeMaskFull(BrokenFiles.RealMask);
        foreach (var id in corpus.Good)
        {
            var (w, h) = ImageDecoder.ReadSize(Directory.GetFiles(Path.Combine(data, "images"), id + ".*").Single());
            ImageDecoder.SavePng(ImageDecoder.Resize(mask, w, h), Path.Combine(masks, id + "_segmentation.png"));
        }
        foreach (var name in corpus.Bad.Keys)
            ImageDecoder.SavePng(ImageDecoder.Resize(mask, 64, 48), Path.Combine(masks, Path.GetFileNameWithoutExtension(name) + "_segmentation.png"));
        // A mask a hundred times smaller than its image, each way.
        File.Copy(BrokenFiles.RealJpeg, Path.Combine(data, "images", "f_tiny_mask.jpg"));
        var (fw, fh) = ImageDecoder.ReadSize(BrokenFiles.RealJpeg);
        ImageDecoder.SavePng(ImageDecoder.Resize(mask, fw / 100, fh / 100), Path.Combine(masks, "f_tiny_mask_segmentation.png"));
        return (corpus, data);
    }

    [Fact]
    public void Predict_segments_every_good_file_names_every_bad_one_once_and_exits_1()
    {
        var corpus = BrokenFiles.Write(Path.Combine(dir, "images"));
        var output = Path.Combine(dir, "out");
        var r = CliRunner.Run("predict", "--input", Path.Combine(dir, "images"), "--output", output, "--engine", "onnx");
        Assert.True(r.ExitCode == 1, r.Stdout + r.Stderr);
        foreach (var id in corpus.Good) Assert.True(File.Exists(Path.Combine(output, id + "_mask.png")), $"{id}: no mask\n{r.Stderr}");
        Assert.Equal(corpus.Good.Count, Directory.GetFiles(output, "*_mask.png").Length);
        var lines = r.Stderr.Split('\n');
        foreach (var (name, reason) in corpus.Bad)
        {
            var named = lines.Where(l => l.Contains(Path.Combine(dir, "images", name) + ":")).ToList();
            Assert.True(named.Count == 1, $"{name} named {named.Count} times:\n{r.Stderr}");
            Assert.Contains(reason, named[0]);
        }
        var notImages = Assert.Single(lines, l => l.Contains("not images"));
        Assert.Equal("malunet: 3 files are not images and were not read: ._a_photo.jpg, notes.txt, scan.pdf", notImages);
        Assert.DoesNotContain("internal error", r.Stderr);
        Assert.Empty(Directory.GetFiles(output, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void Evaluate_scores_the_good_pairs_and_names_every_bad_file_once()
    {
        var (corpus, data) = Dataset();
        var r = CliRunner.Run("evaluate", "--data", data, "--out", Path.Combine(dir, "eval"), "--json");
        Assert.True(r.ExitCode == 1, r.Stdout + r.Stderr);
        foreach (var name in corpus.Bad.Keys.Append("f_tiny_mask_segmentation.png"))
            Assert.True(r.Stderr.Split('\n').Count(l => l.Contains(name + ":")) == 1, $"{name} not named once:\n{r.Stderr}");
        Assert.Contains("f_tiny_mask", r.Stderr);
        var rows = File.ReadAllLines(Path.Combine(dir, "eval", "per_image.csv")).Skip(1).ToList();
        Assert.Equal(corpus.Good.Count, rows.Count);
        Assert.DoesNotContain("internal error", r.Stderr);
    }

    [Fact]
    public void Train_with_skip_bad_leaves_out_and_lists_every_bad_file_and_without_it_stops_naming_one()
    {
        var (corpus, data) = Dataset();
        var stop = CliRunner.Run("train", "--data", data, "--epochs", "1", "--split-ratio", "0.8", "--out", Path.Combine(dir, "run0"), "--cache-dir", Path.Combine(dir, "cache"));
        Assert.True(stop.ExitCode == 1, stop.Stdout + stop.Stderr);
        Assert.DoesNotContain("internal error", stop.Stderr);
        Assert.Contains("--skip-bad", stop.Stderr);

        var r = CliRunner.Run("train", "--data", data, "--epochs", "1", "--split-ratio", "0.8", "--skip-bad", "--out", Path.Combine(dir, "run"), "--cache-dir", Path.Combine(dir, "cache"));
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var all = r.Stdout + r.Stderr;
        foreach (var name in corpus.Bad.Keys.Append("f_tiny_mask"))
            Assert.True(all.Contains(name), $"{name} not listed:\n{all}");
    }
}

using Malunet.Data;
using Malunet.Inference;
using Malunet.Models;

namespace Malunet.Tests.Segmentation;

/// <summary>
/// <see cref="Segmenter"/>, the library's one way in: the bundled network on real ISIC 2017 test images, the result
/// against the pieces it is made of, every kind of input, many threads at once, checkpoints through the Malunet
/// package, and bad input named without CLI flags.
/// </summary>
public class SegmenterTests : TempFolderTest
{
    private static readonly string[] TestImages = Directory.GetFiles(Path.Combine(SharedData.Isic2017, "ISIC-2017_Test_v2_Data"), "*.jpg")
                                                           .Order(StringComparer.Ordinal).Take(8).ToArray();

    [Fact]
    public void The_bundled_network_segments_a_real_image_into_the_mask_its_probabilities_give()
    {
        using var segmenter = Segmenter.Open();
        Assert.Equal(1, segmenter.Classes);
        Assert.Equal(256, segmenter.InputSize);
        Assert.Contains("ONNX Runtime", segmenter.Description);
        var path = TestImages[0];
        var result = segmenter.Segment(path);
        var (w, h) = ImageDecoder.ReadSize(path);
        Assert.Equal((w, h), (result.Width, result.Height));

        // The mask is p >= 0.5 of the network's output resized back; the probability map is that output resized.
        var probabilities = result.NetworkProbabilities.ToArray();
        var full = ProbabilityResize.Resize(probabilities, 256, 256, w, h);
        Assert.Equal(full, result.Probability);
        Assert.Equal(full.Select(p => p >= 0.5 ? (byte)255 : (byte)0).ToArray(), result.Mask);
        long lesion = full.LongCount(p => p >= 0.5);
        Assert.InRange(lesion, 1, (long)w * h - 1);
        Assert.Equal(lesion, result.AreaPixels);
        Assert.Equal([(long)w * h - lesion, lesion], result.ClassPixels);
        Assert.Equal((double)lesion / ((long)w * h), result.AreaFraction, 12);

        // The box, counted here column by column and row by row.
        var rows = Enumerable.Range(0, h).Where(y => result.Mask.AsSpan(y * w, w).Contains((byte)255)).ToList();
        var columns = Enumerable.Range(0, w).Where(x => Enumerable.Range(0, h).Any(y => result.Mask[y * w + x] == 255)).ToList();
        Assert.Equal(new BoundingBox(columns[0], rows[0], columns[^1] - columns[0] + 1, rows[^1] - rows[0] + 1), result.BoundingBox);

        // The files: the mask PNG decodes to the mask; the overlay has the image's size; the probability PNG rounds.
        result.SaveMask(Path.Combine(dir, "mask.png"));
        result.SaveOverlay(Path.Combine(dir, "overlay.jpg"));
        result.SaveProbability(Path.Combine(dir, "prob.png"));
        Assert.Equal(result.Mask, ImageDecoder.DecodeGray(Path.Combine(dir, "mask.png")).Pixels);
        Assert.Equal((w, h), ImageDecoder.ReadSize(Path.Combine(dir, "overlay.jpg")));
        Assert.Equal(full.Select(p => (byte)Math.Round(p * 255)).ToArray(), ImageDecoder.DecodeGray(Path.Combine(dir, "prob.png")).Pixels);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "mask.png")), result.EncodeMask());
    }

    [Fact]
    public void A_file_its_bytes_and_a_stream_of_them_give_the_same_result()
    {
        using var segmenter = Segmenter.Open();
        var path = TestImages[1];
        var fromFile = segmenter.Segment(path);
        var fromBytes = segmenter.Segment(File.ReadAllBytes(path), "upload.jpg");
        using var stream = File.OpenRead(path);
        var fromStream = segmenter.Segment(stream, "stream.jpg");
        Assert.Equal(fromFile.Mask, fromBytes.Mask);
        Assert.Equal(fromFile.Mask, fromStream.Mask);
        Assert.Equal(fromFile.NetworkProbabilities.ToArray(), fromStream.NetworkProbabilities.ToArray());
        Assert.Equal("upload.jpg", fromBytes.Source);
        fromBytes.SaveOverlay(Path.Combine(dir, "overlay.png"));
        Assert.Equal((fromFile.Width, fromFile.Height), ImageDecoder.ReadSize(Path.Combine(dir, "overlay.png")));
    }

    [Fact]
    public void One_segmenter_used_from_eight_threads_gives_the_masks_of_one_thread()
    {
        using var segmenter = Segmenter.Open();
        var alone = TestImages.Select(p => segmenter.Segment(p)).ToArray();
        // Each thread segments every image, starting at its own, so different images run at the same moment.
        var together = new SegmentationResult[8][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
            together[t] = Enumerable.Range(0, TestImages.Length).Select(i => segmenter.Segment(TestImages[(i + t) % TestImages.Length])).ToArray());
        for (int t = 0; t < 8; t++)
            for (int i = 0; i < TestImages.Length; i++)
            {
                var expected = alone[(i + t) % TestImages.Length];
                Assert.Equal(expected.Mask, together[t][i].Mask);
                Assert.Equal(expected.NetworkProbabilities.ToArray(), together[t][i].NetworkProbabilities.ToArray());
            }
    }

    [Fact]
    public void Many_files_stream_through_in_batches_and_a_bad_one_is_named_not_dropped()
    {
        var bad = Path.Combine(dir, "notes.jpg");
        File.WriteAllText(bad, "not an image");
        using var segmenter = Segmenter.Open(new SegmenterOptions { BatchSize = 3 });
        var files = TestImages.Take(4).Append(bad).ToList();
        var areas = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        int lastProgress = 0;
        var failures = segmenter.SegmentMany(files, (path, result) => areas[path] = result.AreaPixels,
                                             new SynchronousProgress(d => lastProgress = Math.Max(lastProgress, d)));
        var failure = Assert.Single(failures);
        Assert.Equal(bad, failure.Path);
        Assert.Contains("not a readable image", failure.Problem);
        Assert.Equal(5, lastProgress);
        Assert.Equal(4, areas.Count);
        // A batch of images gives each the mask it gets alone (thresholded; the last bits of a batch may differ).
        foreach (var f in files.Take(4)) Assert.Equal(segmenter.Segment(f).AreaPixels, areas[f], 0.002 * areas[f]);
    }

    [Fact]
    public void A_checkpoint_opens_through_the_Malunet_package_on_either_engine()
    {
        var checkpoint = BundledWeights.Find()!;
        var image = TestImages[2];
        using var bundled = Segmenter.Open();
        using var exported = Segmenter.Open(checkpoint);
        // No thread count: libtorch's is one for the whole process, and other tests compare bits made with the default.
        using var torch = Segmenter.Open(checkpoint, new SegmenterOptions { Engine = SegmenterEngine.Torch });
        Assert.Contains("ONNX Runtime", exported.Description);
        Assert.Contains("libtorch", torch.Description);
        // The bundled .onnx file is the checkpoint's export, byte for byte: the same bits.
        Assert.Equal(bundled.Segment(image).NetworkProbabilities.ToArray(), exported.Segment(image).NetworkProbabilities.ToArray());
        var a = exported.Segment(image).NetworkProbabilities.ToArray();
        var b = torch.Segment(image).NetworkProbabilities.ToArray();
        Assert.True(a.Zip(b).Max(p => Math.Abs(p.First - p.Second)) < 1e-4);
        // An architecture without an ONNX file of its own is exported in memory.
        using var egeunet = Segmenter.Open(new SegmenterOptions { Model = "egeunet" });
        Assert.Contains("egeunet", egeunet.Description);
        Assert.InRange(egeunet.Segment(image).AreaFraction, 0.01, 0.99);
    }

    [Fact]
    public void Bad_input_is_one_clear_error_that_names_no_command_line_flag()
    {
        using var segmenter = Segmenter.Open();
        var text = Path.Combine(dir, "scan.png");
        File.WriteAllText(text, "hello");
        var errors = new Exception[]
        {
            Assert.Throws<InvalidDataException>(() => segmenter.Segment(text)),
            Assert.Throws<InvalidDataException>(() => segmenter.Segment(new byte[] { 1, 2, 3 }, "upload.jpg")),
            Assert.Throws<FileNotFoundException>(() => segmenter.Segment(Path.Combine(dir, "missing.jpg"))),
            Assert.Throws<FileNotFoundException>(() => Segmenter.Open(Path.Combine(dir, "missing.onnx"))),
            Assert.Throws<ArgumentException>(() => Segmenter.Open(new SegmenterOptions { Threshold = 1.5 })),
            Assert.Throws<ArgumentException>(() => Segmenter.Open(new SegmenterOptions { Threads = 0 })),
        };
        Assert.Contains("scan.png", errors[0].Message);
        Assert.Contains("upload.jpg", errors[1].Message);
        Assert.Contains("missing.jpg", errors[2].Message);
        Assert.Contains("missing.onnx", errors[3].Message);
        Assert.All(errors, e => Assert.DoesNotContain("--", e.Message));
        Assert.All(errors, e => Assert.DoesNotContain("\n", e.Message));
    }

    /// <summary>Progress reported on the reporting thread (Progress&lt;T&gt; posts to the thread pool, after the call returns).</summary>
    private sealed class SynchronousProgress(Action<int> report) : IProgress<int>
    {
        public void Report(int value) { lock (this) report(value); }
    }
}

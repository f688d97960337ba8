using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json.Nodes;
using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Inference;
using Malunet.Models;
using Malunet.Tests.Cli;
using Malunet.Training;
using static TorchSharp.torch;

namespace Malunet.Tests.Training;

/// <summary>
/// <c>--num-classes K</c> (K &gt;= 2): class-index masks (gray or palette PNG, nearest resize, a value &gt;= K named),
/// softmax output, cross-entropy + Dice, per-class metrics, and the verbs on a 3-class synthetic set whose classes are
/// decidable from colour.
/// </summary>
[Collection(SeededRandomness.Name)]
public class MultiClassTests : TempFolderTest
{
    /// <summary>An indexed-colour PNG written from the specification, each row with a different filter type.</summary>
    internal static void WritePalettePng(string path, int width, int height, byte[] indices, int depth = 8)
    {
        int rowBytes = (width * depth + 7) / 8;
        var raw = new MemoryStream();
        var previous = new byte[rowBytes];
        for (int y = 0; y < height; y++)
        {
            var row = new byte[rowBytes];
            for (int x = 0; x < width; x++)
            {
                int bit = x * depth;
                row[bit >> 3] |= (byte)(indices[y * width + x] << (8 - depth - (bit & 7)));
            }
            int filter = y % 5;
            raw.WriteByte((byte)filter);
            for (int i = 0; i < rowBytes; i++)
            {
                int left = i > 0 ? row[i - 1] : 0, up = previous[i], upLeft = i > 0 ? previous[i - 1] : 0;
                int p = left + up - upLeft, pa = Math.Abs(p - left), pb = Math.Abs(p - up), pc = Math.Abs(p - upLeft);
                int predictor = filter switch
                {
                    0 => 0, 1 => left, 2 => up, 3 => (left + up) / 2,
                    _ => pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft,
                };
                raw.WriteByte((byte)(row[i] - predictor));
            }
            previous = row;
        }
        var compressed = new MemoryStream();
        using (var z = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw.ToArray());
        using var file = File.Create(path);
        file.Write(new byte[] { 137, 80, 78, 71, 13, 10, 26, 10 });
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = (byte)depth; header[9] = 3;
        Chunk(file, "IHDR", header);
        // A palette whose colours say nothing of the indices (index i is a shade of red).
        Chunk(file, "PLTE", Enumerable.Range(0, 1 << depth).SelectMany(i => new[] { (byte)(255 - i), (byte)0, (byte)(i * 3) }).ToArray());
        var data = compressed.ToArray();
        Chunk(file, "IDAT", data[..(data.Length / 2)]); // two IDAT chunks: one zlib stream across them
        Chunk(file, "IDAT", data[(data.Length / 2)..]);
        Chunk(file, "IEND", Array.Empty<byte>());
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type).CopyTo(head, 4);
        s.Write(head);
        s.Write(data);
        var crcInput = head[4..].Concat(data).ToArray();
        uint crc = 0xFFFFFFFF;
        foreach (var b in crcInput)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        var tail = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, ~crc);
        s.Write(tail);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(2)]
    public void Palette_png_indices_are_the_class_indices(int depth)
    {
        int w = 37, h = 23;
        var rng = new Random(depth);
        var indices = Enumerable.Range(0, w * h).Select(_ => (byte)rng.Next(Math.Min(1 << depth, 7))).ToArray();
        var path = Path.Combine(dir, $"p{depth}.png");
        WritePalettePng(path, w, h, indices, depth);
        var labels = ClassMasks.Decode(path);
        Assert.Equal((w, h), (labels.Width, labels.Height));
        Assert.Equal(indices, labels.Pixels);
        // Skia reads the same file as colours, not indices: the reason for the reader.
        Assert.NotEqual(indices, ImageDecoder.DecodeMaskFull(path).Pixels);
    }

    [Fact]
    public void Gray_masks_hold_indices_colour_masks_and_values_of_K_or_more_are_named()
    {
        var gray = Path.Combine(dir, "gray.png");
        var px = Enumerable.Range(0, 16 * 8).Select(i => (byte)(i % 3)).ToArray();
        ImageDecoder.SavePng(new Image8(16, 8, 1, px), gray);
        Assert.Equal(px, ClassMasks.Decode(gray).Pixels);

        var colour = Path.Combine(dir, "colour.png");
        var rgb = new byte[16 * 8 * 3];
        rgb[3 * 5] = 200; // pixel (5, 0) is red
        ImageDecoder.SavePng(new Image8(16, 8, 3, rgb), colour);
        var e = Assert.Throws<InvalidDataException>(() => ClassMasks.Decode(colour));
        Assert.Contains(colour, e.Message);
        Assert.Contains("(5, 0)", e.Message);

        var image = Path.Combine(dir, "image.png");
        ImageDecoder.SavePng(new Image8(16, 8, 3, new byte[16 * 8 * 3]), image);
        var bad = Path.Combine(dir, "bad.png");
        px[3 + 16 * 2] = 7;
        ImageDecoder.SavePng(new Image8(16, 8, 1, px), bad);
        var problem = Assert.Throws<InvalidDataException>(() => ImageCache.Decode(new Sample("bad", image, bad, "train"), 32, 3));
        Assert.Equal($"{bad}: mask value 7 at (3, 2) is not a class index below 3 (the network has 3 classes)", problem.Message);
    }

    [Fact]
    public void Nearest_resize_never_blends_classes()
    {
        var labels = new Image8(3, 2, 1, new byte[] { 0, 1, 2, 2, 1, 0 });
        var up = ClassMasks.ResizeNearest(labels, 6, 4);
        Assert.Equal(new byte[] { 0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 2, 2, 1, 1, 0, 0, 2, 2, 1, 1, 0, 0 }, up.Pixels);
        var down = ClassMasks.ResizeNearest(up, 3, 2);
        Assert.Equal(labels.Pixels, down.Pixels);
    }

    [Fact]
    public void Cross_entropy_dice_loss_is_its_definition()
    {
        manual_seed(3);
        var p = softmax(randn(2, 3, 4, 5), 1);
        var t = randint(0, 3, new long[] { 2, 1, 4, 5 }).to(float32);
        var loss = new CrossEntropyDiceLoss(3).Compute(p, t).item<float>();
        var pa = p.data<float>().ToArray();
        var ta = t.data<float>().ToArray();
        double ce = 0, dice = 0;
        int plane = 20;
        for (int b = 0; b < 2; b++)
        {
            for (int i = 0; i < plane; i++) ce -= Math.Log(pa[b * 3 * plane + (int)ta[b * plane + i] * plane + i]);
            for (int c = 1; c < 3; c++)
            {
                double inter = 0, sp = 0, st = 0;
                for (int i = 0; i < plane; i++)
                {
                    double pv = pa[b * 3 * plane + c * plane + i], tv = ta[b * plane + i] == c ? 1 : 0;
                    inter += pv * tv; sp += pv; st += tv;
                }
                dice += (2 * inter + 1) / (sp + st + 1);
            }
        }
        double expected = ce / (2 * plane) + 1 - dice / 4;
        Assert.Equal(expected, loss, 5);
    }

    [Fact]
    public void Class_metrics_score_each_class_one_against_the_rest()
    {
        var m = new ClassConfusionMetrics(3);
        // truth:     0 0 1 1 2 2 2 0
        // predicted: 0 1 1 1 2 0 2 0
        m.Add(new byte[] { 0, 1, 1, 1, 2, 0, 2, 0 }, new byte[] { 0, 0, 1, 1, 2, 2, 2, 0 });
        Assert.Equal((2L, 1L, 0L, 5L), m.OneVsRest(1));
        Assert.Equal((2L, 0L, 1L, 5L), m.OneVsRest(2));
        Assert.Equal(2.0 / 3, m.IoU(1), 12);
        Assert.Equal(2.0 / 3, m.IoU(2), 12);
        Assert.Equal((0.8 + 0.8) / 2, m.Dsc, 12);
        Assert.Equal(6.0 / 8, m.Accuracy, 12);
        Assert.Equal((1.0 + 2.0 / 3) / 2, m.MeanSensitivity, 12); // class 1: 2 of 2 found; class 2: 2 of 3
        Assert.Equal((5.0 / 6 + 1.0) / 2, m.MeanSpecificity, 12);
        // The tensor path (argmax of the probabilities) counts the same.
        var t = new ClassConfusionMetrics(3);
        var probabilities = nn.functional.one_hot(tensor(new long[] { 0, 1, 1, 1, 2, 0, 2, 0 }), 3).T.reshape(1, 3, 1, 8).to(float32);
        t.Add(probabilities, tensor(new float[] { 0, 0, 1, 1, 2, 2, 2, 0 }).reshape(1, 1, 1, 8));
        Assert.Equal(m.ToJson().ToJsonString(), t.ToJson().ToJsonString());
    }

    [Fact]
    public void Softmax_output_and_its_onnx_form_agree()
    {
        manual_seed(5);
        using var net = ModelCatalog.Create(new ModelOptions { NumClasses = 3 });
        net.eval();
        var x = rand(2, 3, 64, 64) * 255;
        using var _ = no_grad();
        var y = net.call(x);
        Assert.Equal(new long[] { 2, 3, 64, 64 }, y.shape);
        Assert.True(TensorAssert.MaxAbsDiff(y.sum(1), ones(2, 64, 64)) < 1e-5);
        using var onnx = new OnnxEngine(OnnxExporter.ToBytes(net, 64, 64), "3 classes");
        Assert.Equal(3, onnx.Classes);
        Assert.True(TensorAssert.MaxAbsDiff(onnx.Run(x), y) < 1e-4);
    }

    /// <summary>The recipe of the 3-class runs: 48 synthetic 96x96 images, 6 epochs at 64x64.</summary>
    internal static string[] ThreeClassRecipe(string dir, string data) =>
        ["--data", data, "--num-classes", "3", "--epochs", "6", "--batch-size", "4", "--image-size", "64", "--cache-dir", Path.Combine(dir, "cache")];

    /// <summary>
    /// The 3-class set and a run trained on it (data folder, run folder), made once per test process in a folder of
    /// its own (deleted when the process ends) for every test that needs a trained 3-class network: tests read it,
    /// and whatever they write goes into their own folders.
    /// </summary>
    internal static (string Data, string Run) TrainThreeClasses() => threeClasses.Value;

    private static readonly Lazy<(string Data, string Run)> threeClasses = new(() =>
    {
        var dir = Directory.CreateTempSubdirectory("malunet-three-classes-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        var data = Path.Combine(dir, "data");
        SyntheticLesions.WriteClasses(data, 48, 96);
        var run = Path.Combine(dir, "run");
        var r = CliRunner.Run(["train", .. ThreeClassRecipe(dir, data), "--out", run]);
        Assert.True(r.ExitCode == 0, r.Stderr + r.Stdout);
        return (data, run);
    });

    [Fact]
    public void Three_classes_train_predict_evaluate_and_export_from_the_command_line()
    {
        var (data, run) = TrainThreeClasses();
        var recipe = ThreeClassRecipe(dir, data);
        var test = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "test.json")))!;
        Assert.Equal(3, test["classes"]!.GetValue<int>());
        var perClass = test["per_class"]!.AsArray();
        // Six epochs learn both classes from their colours (about 0.7 IoU each; chance is near 0).
        Assert.True(perClass[1]!["miou"]!.GetValue<double>() > 0.5, test.ToJsonString());
        Assert.True(perClass[2]!["miou"]!.GetValue<double>() > 0.5, test.ToJsonString());
        Assert.Equal((perClass[1]!["miou"]!.GetValue<double>() + perClass[2]!["miou"]!.GetValue<double>()) / 2, test["miou"]!.GetValue<double>(), 12);
        var best = Path.Combine(run, "checkpoints", "best.safetensors");

        // predict: class-index masks at the original size, colour overlays with a legend, per-class pixel counts.
        var images = Path.Combine(data, "images");
        var pred = Path.Combine(dir, "pred");
        var p = CliRunner.Run("predict", "--weights", best, "--input", images, "--output", pred, "--overlay-format", "png", "--save-probabilities");
        Assert.True(p.ExitCode == 0, p.Stderr);
        var rows = File.ReadAllLines(Path.Combine(pred, "summary.csv"));
        Assert.Equal(FolderPrediction.SummaryHeader + ",class_1_pixels,class_2_pixels", rows[0]);
        Assert.Equal(49, rows.Length);
        var predicted = new ClassConfusionMetrics(3);
        foreach (var row in rows.Skip(1))
        {
            var f = row.Split(',');
            var labels = ClassMasks.Decode(Path.Combine(pred, f[1] + "_mask.png"));
            Assert.Equal((96, 96), (labels.Width, labels.Height));
            Assert.All(labels.Pixels, v => Assert.InRange(v, (byte)0, (byte)2));
            Assert.Equal(labels.Pixels.Count(v => v == 1), long.Parse(f[6]));
            Assert.Equal(labels.Pixels.Count(v => v == 2), long.Parse(f[7]));
            Assert.Equal(labels.Pixels.Count(v => v != 0), long.Parse(f[4]));
            predicted.Add(labels.Pixels, ClassMasks.Decode(Path.Combine(data, "masks", f[1] + "_segmentation.png")).Pixels);
        }
        // The legend's first swatch (class 1, green) at the top left of every overlay.
        var overlay = ImageDecoder.DecodeRgb(Path.Combine(pred, "CLS_0000_overlay.png"));
        Assert.Equal((0, 255, 0), (overlay[16, 13, 0], overlay[16, 13, 1], overlay[16, 13, 2]));
        Assert.True(File.Exists(Path.Combine(pred, "CLS_0000_prob.png")));

        // evaluate: per class, at the network size and at the original size; the latter counts exactly what predict wrote.
        var ev = Path.Combine(dir, "ev");
        var e = CliRunner.Run("evaluate", "--weights", best, "--data", data, "--out", ev);
        Assert.True(e.ExitCode == 0, e.Stderr);
        Assert.Contains("class 2", e.Stdout);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(ev, EvaluationRecord.SummaryFile)))!;
        Assert.Equal(predicted.ToJson()["confusion"]!.ToJsonString(), summary["pooled_original_resolution"]!["confusion"]!.ToJsonString());
        Assert.Equal(48, summary["pooled_network_size"]!["images"]!.GetValue<int>());
        Assert.Equal("id,width,height,dice_1,dice_2,iou_1,iou_2", File.ReadLines(Path.Combine(ev, EvaluationRecord.RowsFile)).First());

        // Two shards merged give exactly the one run's files.
        var shards = new[] { "0/2", "1/2" }.Select((sh, i) =>
        {
            var folder = Path.Combine(dir, $"shard{i}");
            var run = CliRunner.Run("evaluate", "--weights", best, "--data", data, "--shard", sh, "--out", folder);
            Assert.True(run.ExitCode == 0, run.Stderr);
            return folder;
        }).ToArray();
        var merged = Path.Combine(dir, "merged");
        var m = CliRunner.Run(["evaluate", "--merge", .. shards, "--out", merged]);
        Assert.True(m.ExitCode == 0, m.Stderr);
        foreach (var file in new[] { EvaluationRecord.SummaryFile, EvaluationRecord.RowsFile })
            Assert.Equal(File.ReadAllText(Path.Combine(ev, file)), File.ReadAllText(Path.Combine(merged, file)));

        // export: the ONNX graph ends in the softmax of three classes.
        var onnx = Path.Combine(dir, "m.onnx");
        Assert.Equal(0, CliRunner.Run("export", "--weights", best, "--format", "onnx", "--output", onnx).ExitCode);
        using (var engine = new OnnxEngine(onnx)) Assert.Equal(3, engine.Classes);

        // Cross-validation: each fold's test metrics and the folds' ensemble, per class as for one run.
        var cvRoot = Path.Combine(dir, "cv");
        string[] short1 = [.. recipe.Select(a => a == "6" ? "1" : a)];
        var cv = CliRunner.Run(["train", .. short1, "--folds", "2", "--out", cvRoot]);
        Assert.True(cv.ExitCode == 0, cv.Stderr);
        var summary2 = JsonNode.Parse(File.ReadAllText(Path.Combine(cvRoot, CrossValidation.SummaryJson)))!;
        Assert.Equal(2, summary2["per_fold"]!.AsArray().Count);
        Assert.InRange(summary2["ensemble_test"]!["miou"]!.GetValue<double>(), 0.0, 1.0);
        var onFolder = CliRunner.Run("evaluate", "--weights", cvRoot, "--data", data, "--no-original-resolution");
        Assert.True(onFolder.ExitCode == 0, onFolder.Stderr);
        Assert.Contains("class 2", onFolder.Stdout);

        // A mask value of K or more: that image is named and skipped, the rest evaluated, exit 1.
        var bad = Path.Combine(data, "masks", "CLS_0003_segmentation.png");
        var px = ClassMasks.Decode(bad).Pixels;
        px[0] = 5;
        ImageDecoder.SavePng(new Image8(96, 96, 1, px), bad);
        var b = CliRunner.Run("evaluate", "--weights", best, "--data", data, "--no-original-resolution");
        Assert.Equal(1, b.ExitCode);
        Assert.Contains($"{bad}: mask value 5 at (0, 0) is not a class index below 3", b.Stderr);
        Assert.Contains("evaluated 47 image(s)", b.Stderr);

    }
}

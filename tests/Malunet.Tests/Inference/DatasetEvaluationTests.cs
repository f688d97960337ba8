using Malunet.Data;
using Malunet.Inference;

namespace Malunet.Tests.Inference;

/// <summary>
/// <c>evaluate</c>'s per-image scores at the mask's original resolution, against counts made by hand: a network that
/// always predicts the left half of the image, and a mask three times the image's size (as in HAM10000's release)
/// whose lesion is its left third.
/// </summary>
public class DatasetEvaluationTests : TempFolderTest
{
    /// <summary>Probability 1 in the left half of the network's 256 x 256 output, 0 in the right half.</summary>
    private sealed class LeftHalfEngine : IInferenceEngine
    {
        public string Name => "left half";
        public int InputSize => 256;
        public long[] Run(float[] batch, long[] shape, float[] probabilities)
        {
            for (int i = 0; i < shape[0] * 256 * 256; i++) probabilities[i] = i % 256 < 128 ? 1 : 0;
            return [shape[0], 1, 256, 256];
        }
        public void Dispose() { }
    }

    [Fact]
    public void Original_resolution_scores_equal_hand_counts()
    {
        // Image 100 x 60; mask 300 x 180 with columns 0..99 lesion.
        var image = Path.Combine(dir, "case.png");
        var mask = Path.Combine(dir, "case_segmentation.png");
        ImageDecoder.SavePng(new Image8(100, 60, 3, Enumerable.Range(0, 100 * 60 * 3).Select(i => (byte)(i * 7 % 251)).ToArray()), image);
        var m = new byte[300 * 180];
        for (int y = 0; y < 180; y++) for (int x = 0; x < 100; x++) m[y * 300 + x] = 255;
        ImageDecoder.SavePng(new Image8(300, 180, 1, m), mask);

        var (record, problems) = DatasetEvaluation.Run(new LeftHalfEngine(), [new Sample("case", image, mask, "all")], 256, 1, 0.5, originalResolution: true);
        Assert.Empty(problems);
        var scores = Assert.Single(record.Rows).Original!;
        // The left half upsampled to 300 columns: p >= 0.5 where (x + 0.5) * 256 / 300 - 0.5 <= 127.5, i.e. x <= 149.
        long predicted = 150 * 180, truth = 100 * 180, overlap = 100 * 180;
        Assert.Equal(predicted, scores.PredictedPixels);
        Assert.Equal(truth, scores.TruePixels);
        Assert.Equal(2.0 * overlap / (predicted + truth), scores.Dice, 12);   // 0.8
        Assert.Equal((double)overlap / (predicted + truth - overlap), scores.IoU, 12); // 2/3
        Assert.Equal((300, 180), (Assert.Single(record.Rows).Width, Assert.Single(record.Rows).Height));
    }
}

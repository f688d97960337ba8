using Malunet.Data;
using Malunet.Evaluation;
using Malunet.Models;

namespace Malunet.Tests.Evaluation;

/// <summary>Which images a network's weights have seen in training: bundled weights, run folders, fold folders.</summary>
public class TrainingImagesTests : TempFolderTest
{
    /// <summary>The paper's split of a data set in ../shared.</summary>
    private static DataSplit PaperSplit(string dataset) =>
        DataSplit.Load(SharedData.PaperSplit(dataset));

    [Theory]
    [InlineData("isic2017", 1500)]
    [InlineData("isic2018", 1815)]
    public void The_bundled_weights_have_seen_the_training_part_of_their_data_sets_paper_split(string dataset, int count)
    {
        // The bundled split is the data set's own paper split, the one every card's "data" names.
        var bundled = DataSplit.Load(TrainingImages.BundledSplit(dataset)!);
        var paper = PaperSplit(dataset);
        Assert.Equal(paper.Train, bundled.Train);
        Assert.Equal(paper.Test, bundled.Test);

        var seen = TrainingImages.Of(null, dataset)!;
        Assert.Equal(count, seen.Count);
        Assert.All(paper.Train, id => Assert.True(seen.Contains(id)));
        Assert.DoesNotContain(paper.Test, seen.Contains);
        // Named by their path, the bundled files say the same.
        foreach (var model in BundledWeights.Models(dataset: dataset))
            Assert.Equal(count, TrainingImages.Of(BundledWeights.Find(model, dataset), dataset: "isic2017")!.Count);
        if (BundledWeights.FindOnnx("malunet", dataset) is { } onnx) Assert.Equal(count, TrainingImages.Of(onnx)!.Count);
    }

    [Fact]
    public void Most_ISIC_2018_test_images_were_ISIC_2017_training_images()
    {
        var seen = TrainingImages.Of(null, "isic2017")!;
        // 411 of the 779: the cross-data-set table scores only the other 368 (benchmarks/cross_dataset_splits.py).
        Assert.Equal(411, PaperSplit("isic2018").Test.Count(seen.Contains));
    }

    [Fact]
    public void A_run_checkpoint_has_seen_its_runs_train_and_val_ids_and_a_folds_folder_those_of_every_fold()
    {
        var run = Path.Combine(dir, "run");
        Directory.CreateDirectory(Path.Combine(run, "checkpoints"));
        new DataSplit(["a", "b"], ["c"], ["d"], "run").Save(Path.Combine(run, "split.json"));
        var seen = TrainingImages.Of(Path.Combine(run, "checkpoints", "best.safetensors"))!;
        Assert.Equal(3, seen.Count);
        Assert.True(seen.Contains("c"));
        Assert.False(seen.Contains("d"));

        var folds = Path.Combine(dir, "folds");
        foreach (var (fold, train, test) in new[] { ("fold_0", "a", "b"), ("fold_1", "b", "a") })
        {
            Directory.CreateDirectory(Path.Combine(folds, fold));
            new DataSplit([train], [], [test], fold).Save(Path.Combine(folds, fold, "split.json"));
        }
        Assert.Equal(2, TrainingImages.Of(folds)!.Count);
    }

    [Fact]
    public void Weights_from_elsewhere_have_no_known_training_images()
    {
        // A copy of bundled weights outside the weights folder is not taken for them: only the path is known.
        var copy = Path.Combine(dir, BundledWeights.FileName());
        File.Copy(BundledWeights.Find()!, copy);
        Assert.Null(TrainingImages.Of(copy));
        Assert.Null(TrainingImages.Of(Path.Combine(dir, "official.pth")));
    }
}

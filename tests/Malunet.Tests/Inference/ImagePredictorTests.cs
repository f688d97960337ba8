using Malunet.Data;
using Malunet.Inference;
using Malunet.Models;
using static TorchSharp.torch;

namespace Malunet.Tests.Inference;

public class ImagePredictorTests
{
    [Fact]
    public void Test_time_augmentation_averages_the_four_flips_each_flipped_back()
    {
        using var scope = NewDisposeScope();
        var model = ModelCheckpoint.Load(BundledWeights.Find()!);
        var engine = new TorchEngine(model, CPU);
        var image = Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images", "ISIC_0014600.jpg");
        var plain = new ImagePredictor(engine, 256, tta: false);
        var sample = plain.Load(image);
        var withTta = new ImagePredictor(engine, 256, tta: true).Predict(new[] { sample })[0];

        var x = TensorBatches.Images(new[] { sample });
        var sum = engine.Run(x).clone();
        foreach (var dims in new[] { new long[] { 3 }, new long[] { 2 }, new long[] { 2, 3 } })
            sum += engine.Run(x.flip(dims)).flip(dims);
        var expected = (sum / 4)[0, 0].contiguous().data<float>().ToArray();
        Assert.Equal(expected, withTta);
        // And it is not the plain prediction: the flips do change it.
        Assert.NotEqual(plain.Predict(new[] { sample })[0], withTta);
    }
}

using Malunet.Models;
using Malunet.Training;
using static TorchSharp.torch;

namespace Malunet.Tests.Models;

/// <summary>EGE-UNet's deep supervision: five side outputs at the input size and the 0.1..0.5 weighted loss.</summary>
[Collection(SeededRandomness.Name)]
public class EgeUNetTests
{
    [Fact]
    public void Side_outputs_are_probabilities_at_the_input_size_and_enter_the_loss_with_weights_0_1_to_0_5()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var model = ModelCatalog.Create(new ModelOptions { Model = "egeunet" });
        var x = rand(2, 3, 64, 64).mul(255);
        var target = rand(2, 1, 64, 64).gt(0.6).to(float32);
        var (y, sides) = model.ForwardWithSideOutputs(x);
        Assert.Equal(5, sides.Length);
        Assert.All(sides, s => Assert.Equal(new long[] { 2, 1, 64, 64 }, s.shape));
        Assert.All(sides, s => Assert.True(s.min().item<float>() >= 0 && s.max().item<float>() <= 1));
        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(y, model.call(x)));
        Assert.Equal(new[] { 0.1, 0.2, 0.3, 0.4, 0.5 }, model.SideOutputWeights);

        var loss = new BceDiceLoss();
        var expected = loss.Compute(y, target).item<float>();
        for (int i = 0; i < 5; i++) expected += (float)((i + 1) / 10.0 * loss.Compute(sides[i], target).item<float>());
        Assert.Equal(expected, loss.Compute(y, sides, model.SideOutputWeights, target).item<float>(), 5);

        // Models without deep supervision train on the plain loss.
        var plain = ModelCatalog.Create(new ModelOptions());
        var (p, none) = plain.ForwardWithSideOutputs(x);
        Assert.Empty(none);
        Assert.Equal(loss.Compute(p, target).item<float>(), loss.Compute(p, none, plain.SideOutputWeights, target).item<float>());
    }
}

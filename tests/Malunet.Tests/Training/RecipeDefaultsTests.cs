using Malunet.Training;

namespace Malunet.Tests.Training;

/// <summary>The default recipe is the official configs/config_setting.py of MALUNet.</summary>
public class RecipeDefaultsTests
{
    [Fact]
    public void Defaults_are_the_official_configuration()
    {
        var c = new TrainingConfig();
        Assert.Equal(300, c.Epochs);
        Assert.Equal(8, c.BatchSize);
        Assert.Equal(1e-3, c.Lr);
        Assert.Equal((0.9, 0.999, 1e-8), (c.Beta1, c.Beta2, c.Eps));
        Assert.Equal(1e-2, c.WeightDecay);
        Assert.Equal(50, c.TMax);
        Assert.Equal(1e-5, c.EtaMin);
        Assert.Equal((1.0, 1.0), (c.BceWeight, c.DiceWeight));
        Assert.Equal(0.5, c.Threshold);
        Assert.Equal(256, c.ImageSize);
        Assert.Equal(42, c.Seed);
        Assert.True(c.Augment);
        Assert.Equal("malunet", c.Model.Model);
    }
}

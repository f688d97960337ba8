using Malunet.Interop;
using Malunet.Models;

namespace Malunet.Tests.Interop;

public class ModelComplexityTests
{
    [Fact]
    public void Default_malunet_counts_equal_official_and_thop_0_1_1()
    {
        var expected = SharedData.Expected;
        var model = ModelCatalog.Create(new ModelOptions());
        var r = ModelComplexity.Measure(model, 256);
        Assert.Equal(expected["params"]!["total_tied_counted_as_two_tensors"]!.GetValue<long>(), r.Parameters);      // 177,943
        var thop = expected["flops_at_1x3x256x256"]!["thop"]!["thop_0.1.1"]!;
        Assert.Equal((long)thop["params"]!.GetValue<double>(), r.ThopParameters);                                     // 175,031
        Assert.Equal((long)thop["macs"]!.GetValue<double>(), r.Macs);                                                 // 82,972,800
        var own = expected["flops_at_1x3x256x256"]!["own_hook_counter"]!;
        Assert.Equal(own["a_conv_linear_macs_only"]!.GetValue<long>(), r.ConvLinearMacs);
        Assert.Equal(own["adaptive_avgpool_thop"]!.GetValue<long>(), r.AdaptivePoolOps);
    }

    [Fact]
    public void Per_module_parameter_counts_equal_official()
    {
        var perTop = SharedData.Expected["params"]!["per_top_level_module_counted_as_two"]!.AsObject();
        var model = ModelCatalog.Create(new ModelOptions());
        var ours = model.named_parameters().GroupBy(p => p.name.Split('.')[0]).ToDictionary(g => g.Key, g => g.Sum(p => p.parameter.numel()));
        Assert.Equal(perTop.Count, ours.Count);
        foreach (var (k, v) in perTop) Assert.Equal(v!.GetValue<long>(), ours[k]);
    }

    [Fact]
    public void Measuring_again_leaves_no_hooks_behind_and_counts_the_official_numbers_again()
    {
        var model = ModelCatalog.Create(new ModelOptions());
        var thop = SharedData.Expected["flops_at_1x3x256x256"]!["thop"]!["thop_0.1.1"]!;
        for (int i = 0; i < 2; i++)
        {
            var r = ModelComplexity.Measure(model, 256);
            Assert.Equal((long)thop["macs"]!.GetValue<double>(), r.Macs);
            Assert.Equal((long)thop["params"]!.GetValue<double>(), r.ThopParameters);
        }
    }
}

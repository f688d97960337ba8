using Malunet.Layers;
using Malunet.Models;
using static TorchSharp.torch;

namespace Malunet.Tests.Models;

public class ModelStructureTests
{
    [Fact]
    public void State_dict_keys_and_shapes_equal_the_official_279_in_order()
    {
        var official = SharedData.ReadGroupOrdered("weights_init");
        var ours = ModelCatalog.Create(new ModelOptions()).state_dict().ToList();
        Assert.Equal(279, official.Count);
        Assert.Equal(official.Select(t => t.Name), ours.Select(kv => kv.Key));
        for (int i = 0; i < official.Count; i++) Assert.Equal(official[i].Value.shape, ours[i].Value.shape);
    }

    [Fact]
    public void Initialisation_follows_the_official_distributions()
    {
        var sd = ModelCatalog.Create(new ModelOptions()).state_dict();
        // linear_0 starts as the transpose of linear_1, but they are separate tensors.
        var l0 = sd["encoder5.0.linear_0.weight"]; var l1 = sd["encoder5.0.linear_1.weight"];
        Assert.True(l0.allclose(l1.permute(1, 0, 2), rtol: 0, atol: 0));
        using (no_grad()) l1.add_(1.0f);
        Assert.False(l0.allclose(l1.permute(1, 0, 2), rtol: 0, atol: 0)); // writing one leaves the other alone
        // Conv1d linear_1 (out = 32, k = 1): std sqrt(2/32) = 0.25.
        Assert.InRange(l0.std().item<float>(), 0.22, 0.28);
        // Linear: truncated normal std 0.02, zero bias; Conv2d biases zero; GroupNorm weight 1.
        Assert.InRange(sd["scab.catt.att1.weight"].std().item<float>(), 0.017, 0.023);
        Assert.Equal(0f, sd["scab.catt.att1.bias"].abs().max().item<float>());
        Assert.Equal(0f, sd["encoder1.0.bias"].abs().max().item<float>());
        foreach (var (k, v) in sd.Where(kv => kv.Key.Contains("bn") || kv.Key.Contains("norm_layer")))
        {
            Assert.False(v.isnan().any().item<bool>(), k);
            Assert.Equal(k.EndsWith("weight") ? 1f : 0f, v.min().item<float>());
            Assert.Equal(k.EndsWith("weight") ? 1f : 0f, v.max().item<float>());
        }
        // Depthwise 3x3 with 24 groups of one channel: fan_out = 9·24/24 = 9, std sqrt(2/9) = 0.471.
        Assert.InRange(sd["encoder4.1.gau.w1.0.conv1.weight"].std().item<float>(), 0.38, 0.56);
    }

    [Theory]
    [InlineData(250, 256)]
    [InlineData(256, 100)]
    public void Input_not_divisible_by_32_is_a_clear_error(int h, int w)
    {
        var model = ModelCatalog.Create(new ModelOptions());
        var e = Assert.Throws<ArgumentException>(() => model.call(zeros(1, 3, h, w)));
        Assert.Contains("multiples of 32", e.Message);
        Assert.Contains($"{h}x{w}", e.Message);
    }

    [Fact]
    public void Wrong_channel_count_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelCatalog.Create(new ModelOptions()).call(zeros(1, 1, 64, 64)));
        Assert.Contains("1 channels", e.Message);
    }

    [Theory]
    [InlineData("8,16,24,32,48")]
    [InlineData("8,16,24,32,48,66")]
    public void Bad_c_list_is_rejected(string cList)
    {
        Assert.Equal("c-list", Assert.Throws<InvalidOptionException>(() => ModelCatalog.Create(new ModelOptions { CList = ModelOptions.ParseCList(cList) })).Option);
    }

    [Fact]
    public void Unknown_model_name_lists_the_known_ones()
    {
        var e = Assert.Throws<InvalidOptionException>(() => ModelCatalog.Create(new ModelOptions { Model = "resnet" }));
        Assert.Contains("malunet", e.Message);
    }

    [Fact]
    public void Options_round_trip_through_json()
    {
        var o = ModelCatalog.Resolve(new ModelOptions { SplitAtt = SplitAttention.Conv, Bridge = false, BridgeOrder = BridgeOrder.CabFirst, NumClasses = 2 });
        Assert.Equal(o, ModelOptions.FromJson(o.ToJson()));
    }
}

public class TruncatedNormalTests
{
    [Fact]
    public void Samples_have_the_requested_spread_and_stay_within_bounds()
    {
        var t = empty(200_000);
        OfficialInit.TruncatedNormal(t, 0.0, 0.02, -2.0, 2.0);
        Assert.InRange(t.std().item<float>(), 0.0195, 0.0205);
        Assert.InRange(t.mean().item<float>(), -0.0005, 0.0005);
        // A tight truncation: N(0,1) cut to [-1, 1] has std 0.5379.
        OfficialInit.TruncatedNormal(t, 0.0, 1.0, -1.0, 1.0);
        Assert.InRange(t.std().item<float>(), 0.533, 0.543);
        Assert.True(t.abs().max().item<float>() <= 1.0f);
    }
}

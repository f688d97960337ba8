using Malunet.Models;
using Malunet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Tests.Training;

[Collection(SeededRandomness.Name)]
public class OptimizerAndScheduleTests
{
    [Fact]
    public void Cosine_schedule_equals_pytorchs_recursive_CosineAnnealingLR_for_300_epochs()
    {
        // torch.optim.lr_scheduler.CosineAnnealingLR.get_lr (chainable form), stepped once per epoch.
        double baseLr = 1e-3, etaMin = 1e-5; int tMax = 50;
        var ours = new CosineSchedule(baseLr, tMax, etaMin);
        double lr = baseLr;
        for (int e = 0; e < 300; e++)
        {
            if (e > 0)
            {
                if ((e - 1 - tMax) % (2 * tMax) == 0)
                    lr = lr + (baseLr - etaMin) * (1 - Math.Cos(Math.PI / tMax)) / 2;
                else
                    lr = (1 + Math.Cos(Math.PI * e / tMax)) / (1 + Math.Cos(Math.PI * (e - 1) / tMax)) * (lr - etaMin) + etaMin;
            }
            Assert.True(Math.Abs(ours.At(e) - lr) <= 1e-12 + 1e-9 * lr, $"epoch {e}: {ours.At(e)} vs {lr}");
        }
        Assert.Equal(etaMin, ours.At(50), 12);
        Assert.Equal(baseLr, ours.At(100), 12);
    }

    [Fact]
    public void Our_AdamW_matches_TorchSharps_over_several_steps()
    {
        manual_seed(3);
        var a = ModelCatalog.Create(new ModelOptions());
        var b = ModelCatalog.Create(new ModelOptions());
        StateDict.Load(b, a.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value));
        var ours = new AdamW(a.named_parameters().Select(p => (p.name, p.parameter)), 2e-3, 0.9, 0.999, 1e-8, 1e-2);
        var theirs = optim.AdamW(b.parameters(), lr: 2e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 1e-2);
        var x = rand(2, 3, 64, 64).mul(255);
        var t = rand(2, 1, 64, 64).gt(0.6).to(float32);
        var loss = new BceDiceLoss();
        for (int step = 0; step < 4; step++)
        {
            ours.ZeroGrad(); loss.Compute(a.call(x), t).backward(); ours.Step();
            theirs.zero_grad(); loss.Compute(b.call(x), t).backward(); theirs.step();
        }
        var sb = b.state_dict();
        // EA conv1.bias has an analytically zero gradient (the spatial softmax cancels it): its updates are noise.
        var noise = new System.Text.RegularExpressions.Regex(@"^(encoder[456]\.0|decoder[123]\.1)\.conv1\.bias$");
        int compared = 0;
        foreach (var (k, v) in a.state_dict())
        {
            if (noise.IsMatch(k)) continue;
            Assert.True(TensorAssert.MaxAbsDiff(v, sb[k]) < 2e-5, k);
            compared++;
        }
        Assert.Equal(273, compared);
    }
}

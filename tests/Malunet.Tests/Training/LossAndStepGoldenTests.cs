using Malunet.Evaluation;
using Malunet.Models;
using Malunet.Tests.Models;
using Malunet.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Malunet.Tests.Training;

/// <summary>Loss, metrics and one AdamW step against the official fixture values.</summary>
public class LossAndStepGoldenTests(ITestOutputHelper output)
{
    [Fact]
    public void BceDice_loss_of_official_output_matches_including_the_log_clamp()
    {
        using var scope = NewDisposeScope();
        var io = SharedData.ReadGroup("io");
        var eval = SharedData.Expected["eval"]!;
        var loss = new BceDiceLoss();
        // On the official output tensor itself: 6 pixels are exactly 1.0 with target 0, so the -100 clamp matters.
        // float32 reductions over 131,072 pixels in another order than the official code's: 1e-6 (README).
        Close(eval["bce_dice_loss_batch"]!.GetValue<double>(), loss.Compute(io["output"], io["target"]).item<float>(), 1e-6, "BCE+Dice");
        Close(eval["bce_component"]!.GetValue<double>(), BceDiceLoss.Bce(io["output"], io["target"]).item<float>(), 1e-6, "BCE");
        Close(eval["dice_loss_component"]!.GetValue<double>(), loss.DiceLoss(io["output"], io["target"]).item<float>(), 1e-6, "Dice");
        var perImage = eval["bce_dice_loss_per_image"]!.AsArray();
        for (int i = 0; i < 2; i++)
            Close(perImage[i]!.GetValue<double>(), loss.Compute(io["output"][i..(i + 1)], io["target"][i..(i + 1)]).item<float>(), 1e-6, $"image {i}");
    }

    [Fact]
    public void Loss_of_our_forward_matches_official()
    {
        using var scope = NewDisposeScope();
        var io = SharedData.ReadGroup("io");
        var model = MalunetGoldenTests.LoadFixtureModel();
        using var _ = no_grad();
        double got = new BceDiceLoss().Compute(model.call(io["input"]), io["target"]).item<float>();
        double want = SharedData.Expected["eval"]!["bce_dice_loss_batch"]!.GetValue<double>();
        output.WriteLine($"loss ours {got:R} official {want:R} diff {Math.Abs(got - want):E2}");
        Assert.True(Math.Abs(got - want) < 1e-4, $"loss {got} vs {want}");
    }

    [Fact]
    public void Pooled_metrics_equal_engine_py_exactly()
    {
        using var scope = NewDisposeScope();
        var io = SharedData.ReadGroup("io");
        var want = SharedData.Expected["eval"]!["metrics"]!;
        var m = new ConfusionMetrics(0.5);
        m.Add(io["output"], io["target"]);
        Assert.Equal(want["TN"]!.GetValue<long>(), m.TN);
        Assert.Equal(want["FP"]!.GetValue<long>(), m.FP);
        Assert.Equal(want["FN"]!.GetValue<long>(), m.FN);
        Assert.Equal(want["TP"]!.GetValue<long>(), m.TP);
        Assert.Equal(want["miou"]!.GetValue<double>(), m.MIoU);
        Assert.Equal(want["f1_or_dsc"]!.GetValue<double>(), m.Dsc);
        Assert.Equal(want["accuracy"]!.GetValue<double>(), m.Accuracy);
        Assert.Equal(want["sensitivity"]!.GetValue<double>(), m.Sensitivity);
        Assert.Equal(want["specificity"]!.GetValue<double>(), m.Specificity);
    }

    [Fact]
    public void Metrics_use_greater_or_equal_at_the_threshold()
    {
        using var scope = NewDisposeScope();
        var m = new ConfusionMetrics(0.5);
        m.Add(tensor(new[] { 0.5f, 0.4999f, 1f, 0f }).reshape(1, 1, 2, 2), tensor(new[] { 0.5f, 1f, 0f, 0f }).reshape(1, 1, 2, 2));
        Assert.Equal((1L, 1L, 1L, 1L), (m.TP, m.FP, m.FN, m.TN));
    }

    [Fact]
    public void One_AdamW_step_reproduces_official_gradients_and_weights()
    {
        using var scope = NewDisposeScope();
        var io = SharedData.ReadGroup("io");
        var gradsWant = SharedData.ReadGroup("grads_step1");
        var afterWant = SharedData.ReadGroup("weights_after_step1");
        var model = MalunetGoldenTests.LoadFixtureModel();
        model.train();
        // Our AdamW, the one training uses.
        var opt = new AdamW(model.named_parameters().Select(p => (p.name, p.parameter)), lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2);
        opt.ZeroGrad();
        var loss = new BceDiceLoss().Compute(model.call(io["input"]), io["target"]);
        Close(SharedData.Expected["train_step"]!["loss_before_step"]!.GetValue<double>(), loss.item<float>(), 1e-4, "loss before the step");
        loss.backward();

        // Gradients, per tensor, relative to the tensor's largest official gradient: measured at most 4.6e-5 under
        // oneDNN capped at SSE4.1 and at AVX2, on 1 and 2 threads (one absolute bound for all 279 tensors would let a
        // 5% error through on the smallest). The EA blocks' conv1.bias gradients are analytically zero (README: the
        // spatial softmax cancels a per-channel constant), 1e-10..2e-8 of rounding noise in both codes.
        const double gradRtol = 1e-4;
        var parameters = model.named_parameters().ToList();
        Assert.Equal(279, parameters.Count);
        var failures = new List<string>();
        double sq = 0, worstRel = 0;
        var bounds = new Dictionary<string, double>();
        foreach (var (name, p) in parameters)
        {
            var want = gradsWant[name];
            double diff = TensorAssert.MaxAbsDiff(p.grad!, want), scale = want.abs().max().item<float>();
            Assert.True(double.IsFinite(diff), $"{name}: gradient is not finite");
            sq += p.grad!.to(float64).pow(2).sum().item<double>();
            if (AnalyticallyZeroGradients.Has(model, name))
            {
                double largest = p.grad!.abs().max().item<float>();
                if (largest > 1e-6 || scale > 1e-6) failures.Add($"{name}: analytically zero gradient is {largest:E2} (official {scale:E2})");
                bounds[name] = double.PositiveInfinity;
                continue;
            }
            bounds[name] = gradRtol * scale;
            worstRel = Math.Max(worstRel, diff / scale);
            if (diff > gradRtol * scale) failures.Add($"{name}: gradient max |diff| {diff:E2} > {gradRtol:E0} x {scale:E2}");
        }
        Assert.Equal(6, parameters.Count(p => AnalyticallyZeroGradients.Has(model, p.name)));
        double norm = Math.Sqrt(sq), normWant = SharedData.Expected["train_step"]!["grad_global_l2_norm"]!.GetValue<double>();
        output.WriteLine($"gradients: worst per-tensor relative |diff| {worstRel:E3}; global norm {norm:R} vs {normWant:R}");
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.True(Math.Abs(norm - normWant) / normWant < 1e-5);

        opt.Step();
        // After the step: the first AdamW update is lr·g/(|g|+eps), about lr·sign(g), so an element's new weight is
        // determined where its official gradient is larger than our gradient's error bound (and, as the README says,
        // >= 1e-6); there it matches within the README's 1-vs-2-thread spread, 2.8e-6.
        double afterMax = 0;
        long compared = 0;
        foreach (var (name, p) in parameters)
        {
            if (AnalyticallyZeroGradients.Has(model, name)) continue;
            var mask = gradsWant[name].abs().ge(Math.Max(1e-6, bounds[name]));
            long count = mask.sum().item<long>();
            compared += count;
            if (count == 0) continue;
            var d = (p.detach() - afterWant[name]).abs().masked_select(mask).max().item<float>();
            afterMax = Math.Max(afterMax, d);
        }
        output.WriteLine($"weights after step, max |diff| over {compared} elements whose update is determined: {afterMax:E3}");
        Assert.True(compared > 170_000, $"only {compared} elements compared");
        Assert.True(afterMax <= 2.8e-6, $"after-step max |diff| {afterMax:E3} exceeds the 2.8e-6 thread-to-thread spread");

        // The loss after the step, with the undetermined elements (gradients within rounding noise of zero, whose update
        // is an arbitrary +-lr) taken from the official step: they alone moved it by 1.8e-4 under oneDNN's SSE4.1
        // kernels, where the rest gives 2.4e-7.
        using (no_grad())
                foreach (var (name, p) in parameters)
                {
                    var keep = AnalyticallyZeroGradients.Has(model, name) ? zeros_like(p, dtype: ScalarType.Bool) : gradsWant[name].abs().ge(Math.Max(1e-6, bounds[name]));
                    p.copy_(where(keep, p, afterWant[name]));
                }
        model.eval();
        using var _ = no_grad();
        double lossAfter = new BceDiceLoss().Compute(model.call(io["input"]), io["target"]).item<float>();
        double lossAfterWant = SharedData.Expected["train_step"]!["loss_after_step_same_batch"]!.GetValue<double>();
        output.WriteLine($"loss after step {lossAfter:R} vs {lossAfterWant:R}");
        Assert.True(Math.Abs(lossAfter - lossAfterWant) < 1e-5, $"loss after step {lossAfter:R} vs {lossAfterWant:R}");
    }

    private void Close(double want, double got, double tolerance, string what)
    {
        output.WriteLine($"{what}: {got:R} vs official {want:R}, |diff| {Math.Abs(got - want):E2}");
        Assert.True(Math.Abs(got - want) <= tolerance, $"{what}: {got:R} vs official {want:R}, |diff| {Math.Abs(got - want):E2} > {tolerance:E0}");
    }
}

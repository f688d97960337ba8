using System.Text.Json.Nodes;
using Malunet.Tests;
using Malunet.Interop;
using static TorchSharp.torch;

namespace Malunet.Tests.Cli;

public class InfoPredictExportCliTests : TempFolderTest
{

    [Fact]
    public void Info_prints_the_paper_counts()
    {
        var r = CliRunner.Run("info");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("177,943", r.Stdout);
        Assert.Contains("175,031", r.Stdout);
        Assert.Contains("82,972,800", r.Stdout);
    }

    [Fact]
    public void Info_json_has_the_counts_and_options()
    {
        var r = CliRunner.Run("info", "--json", "--split-att", "conv", "--bridge", "false");
        Assert.Equal(0, r.ExitCode);
        var o = JsonNode.Parse(r.Stdout)!;
        Assert.Equal("conv", o["model"]!["split_att"]!.GetValue<string>());
        Assert.False(o["model"]!["bridge"]!.GetValue<bool>());
        Assert.True(o["macs"]!.GetValue<long>() > 0);
    }

    [Theory]
    [InlineData("--c-list", "8,16")]
    [InlineData("--split-att", "linear")]
    [InlineData("--bridge-order", "sideways")]
    [InlineData("--bridge", "maybe")]
    [InlineData("--model", "resnet")]
    [InlineData("--num-classes", "0")]
    [InlineData("--size", "100")]
    public void Bad_model_options_give_one_line_and_exit_2(string flag, string value)
    {
        var r = CliRunner.Run("info", flag, value);
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("malunet: error:", r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void Predict_npy_reproduces_the_official_output_from_both_pth_files()
    {
        var io = SharedData.ReadGroup("io");
        var input = Path.Combine(dir, "x.npy");
        NpyTensors.Write(input, io["input"]);
        foreach (var w in new[] { "weights_init.pth", "weights_init_plain.pth" })
        {
            var output = Path.Combine(dir, $"y_{w}.npy");
            var r = CliRunner.Run("predict", "--weights", SharedData.Fixture(w), "--input", input, "--output", output, "--batch-size", "1");
            Assert.True(r.ExitCode == 0, r.Stderr);
            var y = NpyTensors.Read(output);
            Assert.Equal(new long[] { 2, 1, 256, 256 }, y.shape);
            Assert.True(TensorAssert.MaxAbsDiff(y, io["output"]) <= 1e-4);
        }
    }

    [Fact]
    public void Predict_with_bad_inputs_names_the_file_and_exits_nonzero()
    {
        var missing = CliRunner.Run("predict", "--weights", SharedData.Fixture("weights_init.pth"), "--input", Path.Combine(dir, "none.npy"), "--output", Path.Combine(dir, "o.npy"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("none.npy", missing.Stderr);

        var odd = Path.Combine(dir, "odd.npy");
        NpyTensors.Write(odd, zeros(1, 3, 250, 250));
        var r = CliRunner.Run("predict", "--weights", SharedData.Fixture("weights_init.pth"), "--input", odd, "--output", Path.Combine(dir, "o.npy"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("odd.npy", r.Stderr);
        Assert.Contains("multiples of 32", r.Stderr);
        Assert.False(File.Exists(Path.Combine(dir, "o.npy")));

        var badWeights = Path.Combine(dir, "w.pth");
        File.WriteAllText(badWeights, "garbage");
        var w = CliRunner.Run("predict", "--weights", badWeights, "--input", odd, "--output", Path.Combine(dir, "o.npy"));
        Assert.Equal(1, w.ExitCode);
        Assert.Contains("w.pth", w.Stderr);
        Assert.Single(w.Stderr.Trim().Split('\n'));

        var junk = Path.Combine(dir, "w.safetensors");
        File.WriteAllText(junk, "garbage that is not a safetensors header");
        var j = CliRunner.Run("predict", "--weights", junk, "--input", odd, "--output", Path.Combine(dir, "o.npy"));
        Assert.Equal(1, j.ExitCode);
        Assert.Equal($"malunet: error: {junk}: not a safetensors file (no valid header: damaged, truncated or another format)", j.Stderr.Trim());
    }

    [Fact]
    public void Export_converts_official_weights_to_ours_and_back_to_pth()
    {
        var ours = Path.Combine(dir, "m.safetensors");
        var r1 = CliRunner.Run("export", "--weights", SharedData.Fixture("weights_init.pth"), "--format", "malunet", "--output", ours, "--split-att", "fc");
        Assert.True(r1.ExitCode == 0, r1.Stderr);
        var pth = Path.Combine(dir, "m.pth");
        var r2 = CliRunner.Run("export", "--weights", ours, "--format", "pth", "--output", pth);
        Assert.True(r2.ExitCode == 0, r2.Stderr);
        var back = PyTorchPth.LoadStateDict(pth);
        foreach (var (k, v) in SharedData.ReadGroup("weights_init"))
            Assert.True(v.allclose(back[k], rtol: 0, atol: 0), k);
    }
}

public class OnnxCliTests : TempFolderTest
{
    [Fact]
    public void Export_onnx_then_predict_with_onnx_runtime_matches_the_official_output()
    {
        var onnx = Path.Combine(dir, "model.onnx");
        var e = CliRunner.Run("export", "--weights", SharedData.Fixture("weights_init.pth"), "--format", "onnx", "--output", onnx);
        Assert.True(e.ExitCode == 0, e.Stderr);
        var io = SharedData.ReadGroup("io");
        var x = Path.Combine(dir, "x.npy");
        NpyTensors.Write(x, io["input"]);
        var y = Path.Combine(dir, "y.npy");
        var p = CliRunner.Run("predict", "--engine", "onnx", "--weights", onnx, "--input", x, "--output", y);
        Assert.True(p.ExitCode == 0, p.Stderr);
        Assert.True(TensorAssert.MaxAbsDiff(NpyTensors.Read(y), io["output"]) <= 1e-4);

        var images = Path.Combine(dir, "out");
        var img = CliRunner.Run("predict", "--engine", "onnx", "--weights", onnx, "--input",
            Path.Combine(SharedData.Isic2017, "ISIC-2017_Test_v2_Data", "ISIC_0012223.jpg"), "--output", images, "--no-overlay");
        Assert.True(img.ExitCode == 0, img.Stderr);
        Assert.True(File.Exists(Path.Combine(images, "ISIC_0012223_mask.png")));
    }

    [Fact]
    public void A_npy_file_streams_through_in_batches_with_a_short_last_one()
    {
        // 11 images in batches of 4: two buffers taken in turn, the last batch three images long.
        var x = Path.Combine(dir, "x11.npy");
        using var input = TorchSharp.torch.rand(11, 3, 64, 64).mul(255);
        NpyTensors.Write(x, input);
        var y = Path.Combine(dir, "y11.npy");
        var r = CliRunner.Run("predict", "--weights", SharedData.Fixture("weights_init.pth"), "--input", x, "--output", y, "--batch-size", "4");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var model = Malunet.Models.ModelCheckpoint.Load(SharedData.Fixture("weights_init.pth"), new Malunet.Models.ModelOptions());
        model.eval();
        using var _ = TorchSharp.torch.no_grad();
        using var expected = model.call(input);
        using var got = NpyTensors.Read(y);
        Assert.Equal(new long[] { 11, 1, 64, 64 }, got.shape);
        TensorAssert.Close(expected, got, 1e-5, "streamed .npy against one pass");
    }

    [Fact]
    public void Onnx_engine_with_a_checkpoint_exports_it_in_memory_and_matches_the_torch_engine()
    {
        var x = Path.Combine(dir, "x.npy");
        using (var input = TorchSharp.torch.rand(2, 3, 256, 256).mul(255)) NpyTensors.Write(x, input);
        var viaOnnx = CliRunner.Run("predict", "--engine", "onnx", "--weights", SharedData.Fixture("weights_init.pth"), "--input", x, "--output", Path.Combine(dir, "onnx.npy"));
        Assert.True(viaOnnx.ExitCode == 0, viaOnnx.Stderr);
        var viaTorch = CliRunner.Run("predict", "--weights", SharedData.Fixture("weights_init.pth"), "--input", x, "--output", Path.Combine(dir, "torch.npy"));
        Assert.True(viaTorch.ExitCode == 0, viaTorch.Stderr);
        using var a = NpyTensors.Read(Path.Combine(dir, "onnx.npy"));
        using var b = NpyTensors.Read(Path.Combine(dir, "torch.npy"));
        TensorAssert.Close(b, a, 1e-4, "ONNX Runtime against TorchSharp");
    }

    [Fact]
    public void Onnx_engine_without_weights_runs_the_bundled_onnx_model_as_the_in_memory_export_does()
    {
        var x = Path.Combine(dir, "x.npy");
        using (var input = TorchSharp.torch.rand(3, 3, 256, 256).mul(255)) NpyTensors.Write(x, input);
        var bundled = CliRunner.Run("predict", "--engine", "onnx", "--input", x, "--output", Path.Combine(dir, "bundled.npy"), "--batch-size", "2");
        Assert.True(bundled.ExitCode == 0, bundled.Stderr);
        Assert.Contains("malunet-isic2017.onnx", bundled.Stderr);
        var exported = CliRunner.Run("predict", "--engine", "onnx", "--weights", Malunet.Models.BundledWeights.Find()!, "--input", x,
                                     "--output", Path.Combine(dir, "exported.npy"), "--batch-size", "2");
        Assert.True(exported.ExitCode == 0, exported.Stderr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "exported.npy")), File.ReadAllBytes(Path.Combine(dir, "bundled.npy")));
        var threads = CliRunner.Run("predict", "--engine", "onnx", "--input", x, "--output", Path.Combine(dir, "t.npy"), "--threads", "0");
        Assert.Equal(2, threads.ExitCode);
        Assert.Contains("--threads must be at least 1", threads.Stderr);
    }

    [Fact]
    public void Bridge_options_are_refused_for_architectures_without_a_bridge()
    {
        var r = CliRunner.Run("info", "--model", "unext-s", "--bridge", "false", "--split-att", "conv");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--split-att, --bridge apply to malunet and its ablations, not to --model unext-s", r.Stderr);
        Assert.Equal(0, CliRunner.Run("info", "--model", "bu-cab", "--split-att", "conv").ExitCode);
        Assert.Equal(0, CliRunner.Run("info", "--model", "egeunet").ExitCode);
    }

    [Fact]
    public void Bench_reports_counts_and_positive_timings_for_both_engines_and_a_training_step()
    {
        var r = CliRunner.Run("bench", "--runs", "2", "--train", "--size", "64");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Contains("params     175,031 (thop) / 177,943 (all)", r.Stdout);
        var medians = System.Text.RegularExpressions.Regex.Matches(r.Stdout, @"median ([0-9.]+) ms").Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(5, medians.Count); // torch batch 1 and 8, ONNX batch 1 and 8, the training step
        Assert.All(medians, m => Assert.True(m > 0));
        Assert.Contains("engine     onnx", r.Stdout);
        Assert.Contains("train step median", r.Stdout);
        Assert.Equal(2, CliRunner.Run("bench", "--size", "30").ExitCode); // not a multiple of 32
    }
}

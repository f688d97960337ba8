using System.IO.Compression;
using Malunet.Interop;
using Malunet.Models;
using Malunet.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Tests.Interop;

public class CheckpointInteropTests : TempFolderTest
{

    private static Tensor Output(SegmentationModel m, Tensor x)
    {
        m.eval();
        using var _ = no_grad();
        return m.call(x);
    }

    [Theory]
    [InlineData("weights_init.pth")]        // linear_1 is a permuted view sharing linear_0's storage
    [InlineData("weights_init_plain.pth")]  // every tensor contiguous in its own storage
    public void Official_pth_loads_with_exact_values(string file)
    {
        using var scope = NewDisposeScope();
        var raw = SharedData.ReadGroup("weights_init");
        var sd = PyTorchPth.LoadStateDict(SharedData.Fixture(file));
        Assert.Equal(279, sd.Count);
        foreach (var (k, v) in raw)
        {
            Assert.Equal(v.shape, sd[k].shape);
            Assert.True(v.allclose(sd[k], rtol: 0, atol: 0), $"{k} differs");
            Assert.True(sd[k].is_contiguous());
        }
    }

    [Fact]
    public void Both_official_pth_files_give_the_official_output()
    {
        using var scope = NewDisposeScope();
        var io = SharedData.ReadGroup("io");
        var a = Output(ModelCheckpoint.Load(SharedData.Fixture("weights_init.pth")), io["input"]);
        var b = Output(ModelCheckpoint.Load(SharedData.Fixture("weights_init_plain.pth")), io["input"]);
        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(a, b));
        Assert.True(TensorAssert.MaxAbsDiff(a, io["output"]) <= 1e-4);
    }

    [Fact]
    public void Pth_view_rebuild_honours_offset_and_strides()
    {
        using var scope = NewDisposeScope();
        var sd = PyTorchPth.LoadStateDict(SharedData.Fixture("weights_init.pth"));
        foreach (var block in new[] { "encoder4.0", "encoder5.0", "encoder6.0", "decoder1.1", "decoder2.1", "decoder3.1" })
            Assert.True(sd[$"{block}.linear_1.weight"].allclose(sd[$"{block}.linear_0.weight"].permute(1, 0, 2), rtol: 0, atol: 0));
    }

    [Fact]
    public void Our_checkpoint_round_trips_with_its_options()
    {
        using var scope = NewDisposeScope();
        var options = new ModelOptions { SplitAtt = Malunet.Layers.SplitAttention.Conv, BridgeOrder = Malunet.Layers.BridgeOrder.CabFirst };
        var model = ModelCatalog.Create(options);
        var path = Path.Combine(dir, "m.safetensors");
        ModelCheckpoint.Save(path, model);
        var loaded = ModelCheckpoint.Load(path); // no options given: read from the file
        Assert.Equal(model.Options, loaded.Options);
        var x = rand(1, 3, 64, 64);
        Assert.Equal(0.0, TensorAssert.MaxAbsDiff(Output(model, x), Output(loaded, x)));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void Pth_we_write_reads_back_identically_and_is_a_torch_zip()
    {
        using var scope = NewDisposeScope();
        var model = MalunetGoldenTests.LoadFixtureModel();
        var path = Path.Combine(dir, "export.pth");
        ModelCheckpoint.ExportForPyTorch(path, model);
        using (var zip = ZipFile.OpenRead(path))
        {
            Assert.Contains(zip.Entries, e => e.FullName == "export/data.pkl");
            Assert.Contains(zip.Entries, e => e.FullName == "export/version");
            Assert.Equal(279 + 3, zip.Entries.Count);
        }
        var back = PyTorchPth.LoadStateDict(path);
        foreach (var (k, v) in model.state_dict())
            Assert.True(v.allclose(back[k], rtol: 0, atol: 0), k);
    }

    [Fact]
    public void Latest_pth_style_checkpoint_with_model_state_dict_and_module_prefix_loads()
    {
        using var scope = NewDisposeScope();
        var raw = SharedData.ReadGroupOrdered("weights_init");
        var inner = new PyTorchPth.OrderedDict();
        foreach (var (k, v) in raw) inner["module." + k] = v;
        var root = new Dictionary<string, object?>
        {
            ["epoch"] = 7L, ["min_loss"] = 0.25, ["min_epoch"] = 3L, ["loss"] = 0.3,
            ["model_state_dict"] = inner, ["optimizer_state_dict"] = new Dictionary<string, object?> { ["state"] = new Dictionary<string, object?>(), ["param_groups"] = new List<object?>() },
        };
        var path = Path.Combine(dir, "latest.pth");
        PyTorchPth.Save(path, root);
        var sd = PyTorchPth.LoadStateDict(path);
        Assert.Equal(279, sd.Count);
        Assert.True(sd["final.weight"].allclose(raw.First(t => t.Name == "final.weight").Value, rtol: 0, atol: 0));
        var loaded = (System.Collections.IDictionary)PyTorchPth.Load(path)!;
        Assert.Equal(7, Convert.ToInt64(loaded["epoch"]));
        Assert.Equal(0.25, Convert.ToDouble(loaded["min_loss"]));
    }

    [Fact]
    public void Safetensors_export_reads_back()
    {
        using var scope = NewDisposeScope();
        var model = ModelCatalog.Create(new ModelOptions());
        var path = Path.Combine(dir, "plain.safetensors");
        ModelCheckpoint.ExportForPyTorch(path, model);
        var file = ModelCheckpoint.Read(path);
        Assert.Equal(WeightsKind.Safetensors, file.Kind);
        Assert.Equal(279, file.Tensors.Count);
    }

    [Fact]
    public void Wrong_architecture_is_refused_with_the_key_names()
    {
        var path = SharedData.Fixture("weights_init.pth");
        var e = Assert.Throws<IncompatibleWeightsException>(() => ModelCheckpoint.Load(path, new ModelOptions { Bridge = false }));
        Assert.Contains("unexpected", e.Message);
        Assert.Contains("scab.", e.Message);
        Assert.Contains("weights_init.pth", e.Message);
    }

    [Fact]
    public void Damaged_files_give_clear_errors()
    {
        var notZip = Path.Combine(dir, "x.pth");
        File.WriteAllText(notZip, "hello world, not a checkpoint");
        Assert.Contains("x.pth", Assert.Throws<InvalidDataException>(() => ModelCheckpoint.Read(notZip)).Message);

        var truncated = Path.Combine(dir, "t.pth");
        var bytes = File.ReadAllBytes(SharedData.Fixture("weights_init_plain.pth"));
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.Contains("t.pth", Assert.Throws<InvalidDataException>(() => ModelCheckpoint.Read(truncated)).Message);

        var model = ModelCatalog.Create(new ModelOptions());
        var st = Path.Combine(dir, "s.safetensors");
        ModelCheckpoint.Save(st, model);
        var sb = File.ReadAllBytes(st);
        File.WriteAllBytes(st, sb[..(sb.Length - 1000)]);
        Assert.Contains("s.safetensors", Assert.Throws<InvalidDataException>(() => ModelCheckpoint.Read(st)).Message);

        Assert.Throws<FileNotFoundException>(() => ModelCheckpoint.Read(Path.Combine(dir, "missing.pth")));
    }

    [Fact]
    public void Weights_after_one_step_where_the_ea_linears_differ_survive_our_checkpoint_and_pth()
    {
        using var scope = NewDisposeScope();
        var after = SharedData.ReadGroup("weights_after_step1");
        var model = ModelCatalog.Create(new ModelOptions());
        StateDict.Load(model, after, "weights_after_step1");
        // After a step linear_1 is no longer linear_0 transposed: the two are independent parameters.
        var l0 = after["encoder4.0.linear_0.weight"];
        var l1 = after["encoder4.0.linear_1.weight"];
        Assert.True(TensorAssert.MaxAbsDiff(l1, l0.permute(1, 0, 2)) > 1e-6);
        foreach (var path in new[] { Path.Combine(dir, "after.safetensors"), Path.Combine(dir, "after.pth") })
        {
            if (path.EndsWith(".pth")) ModelCheckpoint.ExportForPyTorch(path, model);
            else ModelCheckpoint.Save(path, model);
            var back = ModelCheckpoint.Load(path, new ModelOptions());
            var state = back.state_dict();
            foreach (var (k, t) in after) Assert.True(TensorAssert.MaxAbsDiff(state[k], t) == 0, $"{k} changed through {Path.GetExtension(path)}");
        }
    }
}

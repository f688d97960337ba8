using Malunet.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Malunet.Models;

/// <summary>
/// EGE-UNet (Ruan et al., MICCAI 2023, Fig. 1), the MALUNet authors' successor: the same six-stage skeleton
/// (widths 8, 16, 24, 32, 48, 64; GroupNorm(4), max-pooling, GELU, bilinear up-sampling, additive skips) with
/// <see cref="GroupedHadamardProductAttention"/> in encoder stages 4-6 and decoder stages 1-3, and a
/// <see cref="GroupAggregationBridge"/> on every skip that is guided by a side-output mask of the decoder (a 1x1
/// conv to one channel). Training uses deep supervision: the five side outputs, up-sampled to the input size, are
/// scored with weights 0.1 (deepest) to 0.5 (shallowest) besides the final output.
/// </summary>
public sealed class EgeUNet : SegmentationModel, Interop.IOnnxExportable
{
    private readonly nn.Module<Tensor, Tensor>[] encoders = new nn.Module<Tensor, Tensor>[6];
    private readonly nn.Module<Tensor, Tensor>[] decoders = new nn.Module<Tensor, Tensor>[5];
    private readonly GroupAggregationBridge[] bridges = new GroupAggregationBridge[5];
    private readonly Conv2d[] sideConvs = new Conv2d[5];
    private readonly GroupNorm[] encoderNorms = new GroupNorm[5];
    private readonly GroupNorm[] decoderNorms = new GroupNorm[5];
    private readonly Conv2d final;

    private static readonly double[] DeepSupervisionWeights = { 0.1, 0.2, 0.3, 0.4, 0.5 };

    /// <inheritdoc/>
    public override int SizeDivisor => 32;
    /// <inheritdoc/>
    public override IReadOnlyList<double> SideOutputWeights => DeepSupervisionWeights;

    /// <summary>Builds the network for <paramref name="options"/> with freshly initialised weights.</summary>
    public EgeUNet(ModelOptions options) : base("EgeUNet", options)
    {
        var c = options.CList ?? throw new ArgumentException("EgeUNet needs resolved options (c_list set)");
        if (c.Count != 6) throw new InvalidOptionException("c-list", $"needs 6 widths for {options.Model}, got {c.Count}");
        foreach (var w in c)
            if (w % 4 != 0) throw new InvalidOptionException("c-list", $"widths must be multiples of 4 (GroupNorm(4) and the 4-way GHPA split), got {w}");
        for (int i = 0; i < 3; i++) encoders[i] = nn.Sequential(nn.Conv2d(i == 0 ? options.InputChannels : c[i - 1], c[i], 3, padding: 1));
        for (int i = 3; i < 6; i++) encoders[i] = nn.Sequential(new GroupedHadamardProductAttention(c[i - 1], c[i]));
        // Bridge i fuses stage i+1's output (or the bottleneck) into stage i's skip.
        for (int i = 0; i < 5; i++) bridges[i] = new GroupAggregationBridge(c[i + 1], c[i]);
        // Side output k comes from decoder stage k+1 (width c[4-k]), deepest first.
        for (int k = 0; k < 5; k++) sideConvs[k] = nn.Conv2d(c[4 - k], 1, 1);
        for (int k = 0; k < 3; k++) decoders[k] = nn.Sequential(new GroupedHadamardProductAttention(c[5 - k], c[4 - k]));
        decoders[3] = nn.Sequential(nn.Conv2d(c[2], c[1], 3, padding: 1));
        decoders[4] = nn.Sequential(nn.Conv2d(c[1], c[0], 3, padding: 1));
        for (int i = 0; i < 5; i++)
        {
            encoderNorms[i] = nn.GroupNorm(4, c[i]);
            decoderNorms[i] = nn.GroupNorm(4, c[4 - i]);
        }
        final = nn.Conv2d(c[0], options.NumClasses, 1);

        for (int i = 0; i < 6; i++) register_module($"encoder{i + 1}", encoders[i]);
        for (int i = 0; i < 5; i++) register_module($"GAB{i + 1}", bridges[i]);
        // The official side-output heads are one-conv Sequentials (keys gt_conv1.0.weight, ...).
        for (int k = 0; k < 5; k++) register_module($"gt_conv{k + 1}", nn.Sequential(sideConvs[k]));
        for (int i = 0; i < 5; i++) register_module($"decoder{i + 1}", decoders[i]);
        for (int i = 0; i < 5; i++) register_module($"ebn{i + 1}", encoderNorms[i]);
        for (int i = 0; i < 5; i++) register_module($"dbn{i + 1}", decoderNorms[i]);
        register_module("final", final);
        OfficialInit.Apply(this);
    }

    /// <summary>The network's probabilities for a batch N x C x H x W.</summary>
    public override Tensor forward(Tensor x) => ForwardWithSideOutputs(x).Output;

    /// <summary>The network's probabilities for a batch N x C x H x W.</summary>
    public override (Tensor Output, Tensor[] SideOutputs) ForwardWithSideOutputs(Tensor x)
    {
        CheckInput(x);
        using var scope = NewDisposeScope();
        var skips = new Tensor[5];
        var h = x;
        for (int i = 0; i < 5; i++)
        {
            h = F.gelu(MalunetModel.MaxPool2x2(encoderNorms[i].call(encoders[i].call(h))));
            skips[i] = h;
        }
        var deeper = F.gelu(encoders[5].call(h)); // the bottleneck feeds the deepest bridge
        h = deeper;
        var sides = new Tensor[5];
        for (int k = 0; k < 5; k++)
        {
            var d = decoderNorms[k].call(decoders[k].call(h));
            // Decoder stage 1 works at the bottleneck resolution; the others upsample to the next skip's size.
            d = F.gelu(k == 0 ? d : Upsample(d, 2));
            var side = sideConvs[k].call(d);
            var bridged = bridges[4 - k].call(deeper, skips[4 - k], side);
            sides[k] = torch.sigmoid(Upsample(side, 1 << (5 - k)));
            h = d + bridged;
            deeper = bridged;
        }
        var output = Activate(Upsample(final.call(h), 2));
        output.MoveToOuterDisposeScope();
        foreach (var s in sides) s.MoveToOuterDisposeScope();
        return (output, sides);
    }

    private static Tensor Upsample(Tensor t, int factor) =>
        F.interpolate(t, scale_factor: new double[] { factor, factor }, mode: InterpolationMode.Bilinear, align_corners: true);

    /// <summary>The network as ONNX nodes (final output only; the side outputs serve training).</summary>
    public string ExportOnnx(Interop.OnnxGraphBuilder g, string x)
    {
        long H = g.InputHeight, W = g.InputWidth;
        string Stage(nn.Module<Tensor, Tensor> stage, string input, long res) =>
            stage.children().Single() is GroupedHadamardProductAttention ghpa ? ghpa.ExportOnnx(g, input, H >> (int)res, W >> (int)res) : g.Module(input, stage);
        var skips = new string[5];
        var h = x;
        for (int i = 0; i < 5; i++)
        {
            h = g.Gelu(g.GroupNormMaxPool2x2(Stage(encoders[i], h, i), encoderNorms[i]));
            skips[i] = h;
        }
        var deeper = g.Gelu(Stage(encoders[5], h, 5));
        h = deeper;
        for (int k = 0; k < 5; k++)
        {
            var d = g.GroupNorm(Stage(decoders[k], h, k == 0 ? 5 : 6 - k), decoderNorms[k]);
            d = g.Gelu(k == 0 ? d : g.Upsample2x(d));
            var side = g.Conv(d, sideConvs[k]);
            var bridged = bridges[4 - k].ExportOnnx(g, deeper, skips[4 - k], side, k == 0 ? 1 : 2);
            h = g.Add(d, bridged);
            deeper = bridged;
        }
        return ExportActivation(g, g.Upsample2x(g.Conv(h, final)));
    }
}

using Malunet.Models;
using Malunet.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Malunet.Models;

/// <summary>A block of MALUNet's deep stages (4-6 of the encoder, 1-3 of the decoder).</summary>
public enum DeepBlock
{
    /// <summary>Plain 3x3 convolution (the "BU" baseline's stage).</summary>
    Conv3x3,
    /// <summary><see cref="DilatedGatedAttention"/>; changes the width.</summary>
    DilatedGatedAttention,
    /// <summary><see cref="ExternalAttention"/> with 4C memory units (IEA); keeps the width.</summary>
    InvertedExternalAttention,
    /// <summary><see cref="ExternalAttention"/> with 64 memory units (EAMLP's EA); keeps the width.</summary>
    ExternalAttention,
}

/// <summary>
/// Which blocks fill the deep stages, how many deep stages there are (the last <c>DeepStages</c> of the encoder and
/// the first of the decoder; 3 in MALUNet) and which attentions the bridge has. The decoder mirrors the encoder
/// (blocks in reverse order). Exactly one block of a stage changes the width (a convolution or DGA); attention
/// blocks before it run at the stage's input width, those after it at its output width.
/// </summary>
public sealed record MalunetArchitecture(string Name, DeepBlock[] EncoderDeepStage, bool ChannelBridge, bool SpatialBridge, int DeepStages = 3)
{
    /// <summary>The paper's network: IEA then DGA in encoder stages 4-6, SAB+CAB bridge.</summary>
    public static readonly MalunetArchitecture Malunet = new("malunet",
        new[] { DeepBlock.InvertedExternalAttention, DeepBlock.DilatedGatedAttention }, true, true);

    // The ablation networks of the paper's Tables II-V: the same skeleton with other blocks and bridges.
    /// <summary>The plain U-Net skeleton (3x3 convolutions at every stage, no bridge): the ablation baseline.</summary>
    public static readonly MalunetArchitecture BasicUNet = new("basicunet", new[] { DeepBlock.Conv3x3 }, false, false);
    // BU+DGA: with DGA in encoder stages 4-6 no decoder placement gives the printed 0.06 GFLOPs (decoder stages none,
    // 1-3, 1-4, 1-5: 0.0676, 0.0670, 0.0673, 0.0702 G). DGA in place of the conv of encoder stages 3-6 and decoder
    // stages 1-4 gives 0.0796 M / 0.0628 G, both printed values (0.08 / 0.06); it is the smallest change that does.
    /// <summary>The skeleton with DGA in the deep stages.</summary>
    public static readonly MalunetArchitecture BuDga = new("bu-dga", new[] { DeepBlock.DilatedGatedAttention }, false, false, DeepStages: 4);
    /// <summary>The skeleton with external attention in the deep stages.</summary>
    public static readonly MalunetArchitecture BuEa = new("bu-ea", new[] { DeepBlock.ExternalAttention, DeepBlock.Conv3x3 }, false, false);
    /// <summary>The skeleton with IEA in the deep stages.</summary>
    public static readonly MalunetArchitecture BuIea = new("bu-iea", new[] { DeepBlock.InvertedExternalAttention, DeepBlock.Conv3x3 }, false, false);
    /// <summary>The skeleton with the channel attention bridge.</summary>
    public static readonly MalunetArchitecture BuCab = new("bu-cab", new[] { DeepBlock.Conv3x3 }, true, false);
    /// <summary>The skeleton with the spatial attention bridge.</summary>
    public static readonly MalunetArchitecture BuSab = new("bu-sab", new[] { DeepBlock.Conv3x3 }, false, true);
    /// <summary>The skeleton with DGA and IEA.</summary>
    public static readonly MalunetArchitecture BuDgaIea = new("bu-dga-iea", new[] { DeepBlock.DilatedGatedAttention, DeepBlock.InvertedExternalAttention }, true, true);
}

/// <summary>
/// MALUNet (Ruan et al., BIBM 2022; paper Fig. 2) and the ablation networks built from the same skeleton.
/// <para>
/// Six-stage U-shape with widths c_list = {8,16,24,32,48,64}. Encoder stages 1-3: a 3x3 convolution; stages 4-6: the
/// <see cref="MalunetArchitecture"/>'s blocks (MALUNet: IEA then DGA). Stages 1-5 are followed by GroupNorm(4),
/// 2x2 max-pooling and GELU; stage 6 only by GELU. The five pooled encoder outputs pass through the
/// <see cref="AttentionBridge"/> and are added to the decoder outputs of the same resolution. The decoder mirrors
/// the encoder, each stage followed by GroupNorm(4), bilinear x2 upsampling (align_corners, except after the first
/// decoder stage, which works at the bottleneck resolution) and GELU. A 1x1 convolution at H/2, a last bilinear x2
/// upsampling and a sigmoid give the probabilities.
/// </para>
/// Module and parameter names equal the official state_dict keys (279 for the default model).
/// </summary>
public sealed class MalunetModel : SegmentationModel, Interop.IOnnxExportable
{
    private readonly nn.Module<Tensor, Tensor>[] encoders = new nn.Module<Tensor, Tensor>[6];
    private readonly nn.Module<Tensor, Tensor>[] decoders = new nn.Module<Tensor, Tensor>[5];
    private readonly GroupNorm[] encoderNorms = new GroupNorm[5];
    private readonly GroupNorm[] decoderNorms = new GroupNorm[5];
    private readonly AttentionBridge? bridge;
    private readonly Conv2d final;

    /// <summary>Which blocks this network is made of (MALUNet's own, or an ablation's).</summary>
    public MalunetArchitecture Architecture { get; }

    /// <inheritdoc/>
    public override int SizeDivisor => 32;

    /// <summary>Builds the network for <paramref name="options"/> with freshly initialised weights.</summary>
    public MalunetModel(ModelOptions options, MalunetArchitecture? architecture = null) : base("MalunetModel", options)
    {
        Architecture = architecture ?? MalunetArchitecture.Malunet;
        var c = options.CList ?? throw new ArgumentException("MalunetModel needs resolved options (c_list set)");
        if (c.Count != 6) throw new InvalidOptionException("c-list", $"needs 6 widths for {options.Model}, got {c.Count}");
        foreach (var w in c)
            if (w % 4 != 0) throw new InvalidOptionException("c-list", $"widths must be multiples of 4 (GroupNorm(4) and the 4-way DGA split), got {w}");

        int deep = Architecture.DeepStages;
        for (int i = 0; i < 6; i++)
            encoders[i] = i < 6 - deep
                ? nn.Sequential(nn.Conv2d(i == 0 ? options.InputChannels : c[i - 1], c[i], 3, padding: 1))
                : DeepStage(Architecture.EncoderDeepStage, c[i - 1], c[i]);
        var decoderBlocks = Architecture.EncoderDeepStage.Reverse().ToArray();
        for (int k = 0; k < 5; k++)
            decoders[k] = k < deep
                ? DeepStage(decoderBlocks, c[5 - k], c[4 - k])
                : nn.Sequential(nn.Conv2d(c[5 - k], c[4 - k], 3, padding: 1));
        for (int i = 0; i < 5; i++)
        {
            encoderNorms[i] = nn.GroupNorm(4, c[i]);
            decoderNorms[i] = nn.GroupNorm(4, c[4 - i]);
        }
        bool anyBridge = Architecture.ChannelBridge || Architecture.SpatialBridge;
        if (options.Bridge && anyBridge)
            bridge = new AttentionBridge(c.Take(5).ToArray(), options.SplitAtt, options.BridgeOrder,
                                         Architecture.ChannelBridge, Architecture.SpatialBridge);
        final = nn.Conv2d(c[0], options.NumClasses, 1);

        // Registration order = the official state_dict order.
        for (int i = 0; i < 6; i++) register_module($"encoder{i + 1}", encoders[i]);
        if (bridge != null) register_module("scab", bridge);
        for (int i = 0; i < 5; i++) register_module($"decoder{i + 1}", decoders[i]);
        for (int i = 0; i < 5; i++) register_module($"ebn{i + 1}", encoderNorms[i]);
        for (int i = 0; i < 5; i++) register_module($"dbn{i + 1}", decoderNorms[i]);
        register_module("final", final);

        OfficialInit.Apply(this);
    }

    private static Sequential DeepStage(DeepBlock[] blocks, long cin, long cout)
    {
        var modules = new List<nn.Module<Tensor, Tensor>>();
        long width = cin;
        foreach (var b in blocks)
        {
            switch (b)
            {
                case DeepBlock.Conv3x3: modules.Add(nn.Conv2d(width, cout, 3, padding: 1)); width = cout; break;
                case DeepBlock.DilatedGatedAttention: modules.Add(new DilatedGatedAttention(width, cout)); width = cout; break;
                case DeepBlock.InvertedExternalAttention: modules.Add(ExternalAttention.ForInverted(width)); break;
                case DeepBlock.ExternalAttention: modules.Add(ExternalAttention.ForOriginal(width)); break;
            }
        }
        if (width != cout) throw new ArgumentException("a deep stage needs one block that changes the width");
        return nn.Sequential(modules.ToArray());
    }

    /// <summary>The network's probabilities for a batch N x C x H x W.</summary>
    public override Tensor forward(Tensor x) => Forward(x, null);

    /// <summary>
    /// The forward pass; with a recorder, reports the intermediate tensors under the names of the official
    /// fixtures (<c>t1_pre_bridge</c>, <c>encoder4.0</c>, <c>bridge_satt1</c>, <c>dec1_out5</c>, <c>logits</c>, ...).
    /// </summary>
    public Tensor Forward(Tensor x, ActivationRecorder? record)
    {
        CheckInput(x);
        using var scope = NewDisposeScope();
        var skips = new Tensor[5];
        var h = x;
        for (int i = 0; i < 5; i++)
        {
            h = F.gelu(MaxPool2x2(encoderNorms[i].call(RunStage(encoders[i], $"encoder{i + 1}", h, record))));
            skips[i] = h;
            record?.Invoke($"t{i + 1}_pre_bridge", h);
        }
        var bridged = bridge != null ? bridge.Forward(skips, record) : skips;
        for (int i = 0; i < 5; i++) record?.Invoke($"t{i + 1}_post_bridge", bridged[i]);

        h = F.gelu(RunStage(encoders[5], "encoder6", h, record));
        record?.Invoke("enc6_out_gelu", h);
        // Decoder stage 1 works at the bottleneck resolution: no upsampling.
        h = F.gelu(decoderNorms[0].call(RunStage(decoders[0], "decoder1", h, record))) + bridged[4];
        record?.Invoke("dec1_out5", h);
        for (int k = 1; k < 5; k++)
        {
            var d = RunStage(decoders[k], $"decoder{k + 1}", h, record);
            if (k >= 3) record?.Invoke($"decoder{k + 1}_conv_out", d);
            h = F.gelu(Upsample2x(decoderNorms[k].call(d))) + bridged[4 - k];
            record?.Invoke($"dec{k + 1}_out{5 - k}", h);
        }
        var fin = final.call(h);
        record?.Invoke("final_conv_out", fin);
        var logits = Upsample2x(fin);
        record?.Invoke("logits", logits);
        return Activate(logits).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// 2x2 max-pooling, stride 2. Without gradients it is computed as two strided maximums (same values, about 10x
    /// faster than libtorch's max_pool2d on CPU, measured on [8,8,256,256]); with gradients max_pool2d is kept,
    /// because the backward pass of strided slices costs more than it saves.
    /// </summary>
    internal static Tensor MaxPool2x2(Tensor t)
    {
        if (torch.is_grad_enabled()) return F.max_pool2d(t, 2, 2);
        using var rows = torch.maximum(t[.., .., TensorIndex.Slice(0, null, 2)], t[.., .., TensorIndex.Slice(1, null, 2)]);
        return torch.maximum(rows[.., .., .., TensorIndex.Slice(0, null, 2)], rows[.., .., .., TensorIndex.Slice(1, null, 2)]);
    }

    private static Tensor Upsample2x(Tensor t) =>
        F.interpolate(t, scale_factor: new[] { 2.0, 2.0 }, mode: InterpolationMode.Bilinear, align_corners: true);

    private static Tensor RunStage(nn.Module<Tensor, Tensor> stage, string name, Tensor x, ActivationRecorder? record)
    {
        if (record == null) return stage.call(x);
        int i = 0;
        foreach (var child in stage.children())
        {
            x = ((nn.Module<Tensor, Tensor>)child).call(x);
            record($"{name}.{i++}", x);
        }
        return x;
    }

    /// <summary>The same network as ONNX nodes (see <see cref="OnnxExporter"/>).</summary>
    public string ExportOnnx(Interop.OnnxGraphBuilder g, string x)
    {
        var skips = new string[5];
        var h = x;
        for (int i = 0; i < 5; i++)
        {
            h = g.Gelu(g.GroupNormMaxPool2x2(g.Module(h, encoders[i]), encoderNorms[i]));
            skips[i] = h;
        }
        var bridged = bridge != null ? bridge.ExportOnnx(g, skips) : skips;
        h = g.Gelu(g.Module(h, encoders[5]));
        h = g.Add(g.Gelu(g.GroupNorm(g.Module(h, decoders[0]), decoderNorms[0])), bridged[4]);
        for (int k = 1; k < 5; k++)
            h = g.Add(g.Gelu(g.Upsample2x(g.GroupNorm(g.Module(h, decoders[k]), decoderNorms[k]))), bridged[4 - k]);
        return ExportActivation(g, g.Upsample2x(g.Conv(h, final)));
    }
}

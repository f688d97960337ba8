using Malunet.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;
using static Malunet.Layers.TokenMaps;

namespace Malunet.Models;

/// <summary>
/// UNeXt (Valanarasu and Patel, MICCAI 2022, Fig. 2) in its small form UNeXt-S, widths c_list = 8, 16, 32, 64, 128:
/// three convolutional stages (3x3 conv, BatchNorm, 2x2 max-pooling, ReLU), then two tokenized MLP stages (overlapping
/// patch embedding to 64 and 128 tokens wide, a <see cref="TokenizedMlpBlock"/>, LayerNorm). The decoder goes back
/// with 3x3 conv, BatchNorm, bilinear x2 up-sampling and ReLU, adding the encoder maps; its two deepest stages run
/// a tokenized MLP block and LayerNorm after the addition. A 1x1 conv and a sigmoid give the probabilities.
/// </summary>
public sealed class UNeXt : SegmentationModel, Interop.IOnnxExportable
{
    private readonly Conv2d encoder1, encoder2, encoder3;
    private readonly BatchNorm2d ebn1, ebn2, ebn3;
    private readonly LayerNorm norm3, norm4, dnorm3, dnorm4;
    // The official blocks sit in one-element ModuleLists (keys block1.0.norm2.weight, ...).
    private readonly ModuleList<TokenizedMlpBlock> block1, block2, dblock1, dblock2;
    private readonly OverlapPatchEmbedding patch_embed3, patch_embed4;
    private readonly Conv2d decoder1, decoder2, decoder3, decoder4, decoder5;
    private readonly BatchNorm2d dbn1, dbn2, dbn3, dbn4;
    private readonly Conv2d final;

    /// <inheritdoc/>
    public override int SizeDivisor => 32;

    /// <summary>Builds the network for <paramref name="options"/> with freshly initialised weights.</summary>
    public UNeXt(ModelOptions options) : base("UNeXt", options)
    {
        var c = options.CList ?? throw new ArgumentException("UNeXt needs resolved options (c_list set)");
        if (c.Count != 5) throw new InvalidOptionException("c-list", $"needs 5 widths for {options.Model}, got {c.Count}");
        encoder1 = nn.Conv2d(options.InputChannels, c[0], 3, padding: 1);
        encoder2 = nn.Conv2d(c[0], c[1], 3, padding: 1);
        encoder3 = nn.Conv2d(c[1], c[2], 3, padding: 1);
        ebn1 = nn.BatchNorm2d(c[0]); ebn2 = nn.BatchNorm2d(c[1]); ebn3 = nn.BatchNorm2d(c[2]);
        norm3 = nn.LayerNorm(c[3]); norm4 = nn.LayerNorm(c[4]); dnorm3 = nn.LayerNorm(c[3]); dnorm4 = nn.LayerNorm(c[2]);
        block1 = nn.ModuleList(new TokenizedMlpBlock(c[3])); block2 = nn.ModuleList(new TokenizedMlpBlock(c[4]));
        dblock1 = nn.ModuleList(new TokenizedMlpBlock(c[3])); dblock2 = nn.ModuleList(new TokenizedMlpBlock(c[2]));
        patch_embed3 = new OverlapPatchEmbedding(c[2], c[3]);
        patch_embed4 = new OverlapPatchEmbedding(c[3], c[4]);
        decoder1 = nn.Conv2d(c[4], c[3], 3, padding: 1);
        decoder2 = nn.Conv2d(c[3], c[2], 3, padding: 1);
        decoder3 = nn.Conv2d(c[2], c[1], 3, padding: 1);
        decoder4 = nn.Conv2d(c[1], c[0], 3, padding: 1);
        decoder5 = nn.Conv2d(c[0], c[0], 3, padding: 1);
        dbn1 = nn.BatchNorm2d(c[3]); dbn2 = nn.BatchNorm2d(c[2]); dbn3 = nn.BatchNorm2d(c[1]); dbn4 = nn.BatchNorm2d(c[0]);
        final = nn.Conv2d(c[0], options.NumClasses, 1);
        RegisterComponents();
        // UNeXt initialises its tokenized parts as timm does (Linear: truncated normal 0.02; conv: fan-out normal).
        foreach (var m in new nn.Module[] { block1, block2, dblock1, dblock2, patch_embed3, patch_embed4 }) OfficialInit.Apply(m);
    }

    private static Tensor Up(Tensor t) =>
        F.interpolate(t, scale_factor: new[] { 2.0, 2.0 }, mode: InterpolationMode.Bilinear, align_corners: false);

    /// <summary>The network's probabilities for a batch N x C x H x W.</summary>
    public override Tensor forward(Tensor x)
    {
        CheckInput(x);
        using var scope = NewDisposeScope();
        var t1 = F.relu(F.max_pool2d(ebn1.call(encoder1.call(x)), 2, 2));
        var t2 = F.relu(F.max_pool2d(ebn2.call(encoder2.call(t1)), 2, 2));
        var t3 = F.relu(F.max_pool2d(ebn3.call(encoder3.call(t2)), 2, 2));

        long h = t3.shape[2] / 2, w = t3.shape[3] / 2;
        var t4 = ToMap(norm3.call(block1[0].call(patch_embed3.call(t3), h, w)), h, w);
        long hb = h / 2, wb = w / 2;
        var bottleneck = ToMap(norm4.call(block2[0].call(patch_embed4.call(t4), hb, wb)), hb, wb);

        var d = F.relu(Up(dbn1.call(decoder1.call(bottleneck)))) + t4;
        d = ToMap(dnorm3.call(dblock1[0].call(ToTokens(d), h, w)), h, w);
        d = F.relu(Up(dbn2.call(decoder2.call(d)))) + t3;
        long h3 = t3.shape[2], w3 = t3.shape[3];
        d = ToMap(dnorm4.call(dblock2[0].call(ToTokens(d), h3, w3)), h3, w3);
        d = F.relu(Up(dbn3.call(decoder3.call(d)))) + t2;
        d = F.relu(Up(dbn4.call(decoder4.call(d)))) + t1;
        d = F.relu(Up(decoder5.call(d)));
        return Activate(final.call(d)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public string ExportOnnx(Interop.OnnxGraphBuilder g, string x)
    {
        long c3 = encoder3.out_channels, c4 = decoder1.out_channels, c5 = decoder1.in_channels;
        long h3 = g.InputHeight / 8, w3 = g.InputWidth / 8, h = h3 / 2, w = w3 / 2, hb = h / 2, wb = w / 2;
        var t1 = g.Relu(g.MaxPool2x2(g.BatchNorm(g.Conv(x, encoder1), ebn1)));
        var t2 = g.Relu(g.MaxPool2x2(g.BatchNorm(g.Conv(t1, encoder2), ebn2)));
        var t3 = g.Relu(g.MaxPool2x2(g.BatchNorm(g.Conv(t2, encoder3), ebn3)));
        var t4 = g.ToMap(g.LayerNorm(block1[0].ExportOnnx(g, patch_embed3.ExportOnnx(g, t3, h3, w3), h, w), norm3), c4, h, w);
        var bottleneck = g.ToMap(g.LayerNorm(block2[0].ExportOnnx(g, patch_embed4.ExportOnnx(g, t4, h, w), hb, wb), norm4), c5, hb, wb);
        var d = g.Add(g.Relu(g.Upsample2xHalfPixel(g.BatchNorm(g.Conv(bottleneck, decoder1), dbn1))), t4);
        d = g.ToMap(g.LayerNorm(dblock1[0].ExportOnnx(g, g.ToTokens(d, c4, h, w), h, w), dnorm3), c4, h, w);
        d = g.Add(g.Relu(g.Upsample2xHalfPixel(g.BatchNorm(g.Conv(d, decoder2), dbn2))), t3);
        d = g.ToMap(g.LayerNorm(dblock2[0].ExportOnnx(g, g.ToTokens(d, c3, h3, w3), h3, w3), dnorm4), c3, h3, w3);
        d = g.Add(g.Relu(g.Upsample2xHalfPixel(g.BatchNorm(g.Conv(d, decoder3), dbn3))), t2);
        d = g.Add(g.Relu(g.Upsample2xHalfPixel(g.BatchNorm(g.Conv(d, decoder4), dbn4))), t1);
        d = g.Relu(g.Upsample2xHalfPixel(g.Conv(d, decoder5)));
        return ExportActivation(g, g.Conv(d, final));
    }
}

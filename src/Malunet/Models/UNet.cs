using Malunet.Interop;
using Malunet.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Malunet.Models;

/// <summary>
/// The classic UNet (Ronneberger et al., MICCAI 2015) as the MALUNet and EGE-UNet papers compare against it
/// (Tables I-III): five stages of <see cref="DoubleConv"/> with widths c_list (default 32, 64, 128, 256, 512),
/// 2x2 max-pooling down, up-sampling by a 2x2 stride-2 transposed convolution with BatchNorm and ReLU, skips
/// concatenated, a 1x1 convolution and a sigmoid. Counted as thop 0.1.1 counts it: 7,766,945 parameters and
/// 13.7615 GMACs at 256x256, the MALUNet paper's 7.77 M / 13.76 G. The papers do not say how their UNet
/// up-samples; a bare transposed convolution gives 13.746 G (13.75), so the normalised one is the reading that
/// matches (the EGE-UNet paper prints 13.78).
/// </summary>
public sealed class UNet : SegmentationModel, IOnnxExportable
{
    private readonly DoubleConv[] encoders;
    private readonly ConvTranspose2d[] ups;
    private readonly BatchNorm2d[] upNorms;
    private readonly DoubleConv[] decoders;
    private readonly Conv2d final;

    /// <inheritdoc/>
    public override int SizeDivisor => 1 << (encoders.Length - 1);

    /// <summary>Builds the network for <paramref name="options"/> with freshly initialised weights.</summary>
    public UNet(ModelOptions options) : base("UNet", options)
    {
        var c = options.CList ?? throw new ArgumentException("UNet needs resolved options (c_list set)");
        if (c.Count < 2) throw new InvalidOptionException("c-list", $"needs at least 2 widths for {options.Model}, got {c.Count}");
        encoders = c.Select((w, i) => new DoubleConv(i == 0 ? options.InputChannels : c[i - 1], w)).ToArray();
        // Decoder stage k goes from width c[n-1-k] up to c[n-2-k].
        int n = c.Count;
        ups = Enumerable.Range(0, n - 1).Select(k => nn.ConvTranspose2d(c[n - 1 - k], c[n - 2 - k], 2, stride: 2)).ToArray();
        upNorms = Enumerable.Range(0, n - 1).Select(k => nn.BatchNorm2d(c[n - 2 - k])).ToArray();
        decoders = Enumerable.Range(0, n - 1).Select(k => new DoubleConv(2 * c[n - 2 - k], c[n - 2 - k])).ToArray();
        final = nn.Conv2d(c[0], options.NumClasses, 1);
        for (int i = 0; i < n; i++) register_module($"down{i + 1}", encoders[i]);
        for (int k = 0; k < n - 1; k++)
        {
            register_module($"up{k + 1}", ups[k]);
            register_module($"up_bn{k + 1}", upNorms[k]);
            register_module($"dec{k + 1}", decoders[k]);
        }
        register_module("final", final);
    }

    /// <summary>The network's probabilities for a batch N x C x H x W.</summary>
    public override Tensor forward(Tensor x)
    {
        CheckInput(x);
        using var scope = NewDisposeScope();
        var skips = new List<Tensor>();
        var h = x;
        for (int i = 0; i < encoders.Length; i++)
        {
            if (i > 0) h = F.max_pool2d(h, 2, 2);
            h = encoders[i].call(h);
            skips.Add(h);
        }
        for (int k = 0; k < ups.Length; k++)
            h = decoders[k].call(torch.cat(new[] { skips[skips.Count - 2 - k], F.relu(upNorms[k].call(ups[k].call(h))) }, 1));
        return Activate(final.call(h)).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public string ExportOnnx(OnnxGraphBuilder g, string x)
    {
        var skips = new List<string>();
        var h = x;
        for (int i = 0; i < encoders.Length; i++)
        {
            if (i > 0) h = g.MaxPool2x2(h);
            h = encoders[i].ExportOnnx(g, h);
            skips.Add(h);
        }
        for (int k = 0; k < ups.Length; k++)
            h = decoders[k].ExportOnnx(g, g.Node("Concat", new[] { skips[skips.Count - 2 - k], g.Relu(g.BatchNorm(g.ConvTranspose(h, ups[k]), upNorms[k])) },
                                                 OnnxGraphBuilder.Int("axis", 1)));
        return ExportActivation(g, g.Conv(h, final));
    }
}

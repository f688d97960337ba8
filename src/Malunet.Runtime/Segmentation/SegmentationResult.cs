using Malunet.Data;
using Malunet.Inference;

namespace Malunet;

/// <summary>
/// One segmented image at its original size: the mask, the lesion's area and bounding box and, for a multi-class
/// network, the class map and each class's pixels; the probability map on request. Made by <see cref="Segmenter"/>.
/// </summary>
public sealed class SegmentationResult
{
    private readonly float[] networkProbabilities;
    private readonly int networkSize;
    private readonly byte[]? sourceBytes;
    private readonly Lazy<BoundingBox?> box;
    private float[]? probability;

    internal SegmentationResult(string source, byte[]? sourceBytes, int width, int height, int classes, double threshold,
                                byte[] mask, byte[]? labels, long[] classPixels, float[] networkProbabilities, int networkSize)
    {
        Source = source; this.sourceBytes = sourceBytes; Width = width; Height = height; Classes = classes; Threshold = threshold;
        Mask = mask; Labels = labels; ClassPixels = classPixels;
        this.networkProbabilities = networkProbabilities; this.networkSize = networkSize;
        box = new Lazy<BoundingBox?>(() => Bounds(mask, width, height));
    }

    /// <summary>The image's path, or the name given with its bytes.</summary>
    public string Source { get; }

    /// <summary>The image's width in pixels (after its EXIF orientation).</summary>
    public int Width { get; }

    /// <summary>The image's height in pixels (after its EXIF orientation).</summary>
    public int Height { get; }

    /// <summary>The network's classes: 1 for the paper's lesion probability, K &gt;= 2 for a class map.</summary>
    public int Classes { get; }

    /// <summary>The probability threshold the mask was made with.</summary>
    public double Threshold { get; }

    /// <summary>Width x Height bytes, row by row: 255 where the pixel is lesion (any class but 0), else 0.</summary>
    public byte[] Mask { get; }

    /// <summary>For a multi-class network, Width x Height class indices (the class of the largest probability); null for one class.</summary>
    public byte[]? Labels { get; }

    /// <summary>Pixels of each class, index = class (for one class: background, lesion).</summary>
    public IReadOnlyList<long> ClassPixels { get; }

    /// <summary>Lesion pixels (every class but 0).</summary>
    public long AreaPixels => Width * (long)Height - ClassPixels[0];

    /// <summary>The lesion's share of the image, 0..1.</summary>
    public double AreaFraction => (double)AreaPixels / ((long)Width * Height);

    /// <summary>The lesion's bounding box; null when no pixel is lesion.</summary>
    public BoundingBox? BoundingBox => box.Value;

    /// <summary>
    /// Width x Height lesion probabilities 0..1 (for K classes 1 - p(class 0)), the network's output resized
    /// bilinearly to the image; computed on first use (4 bytes a pixel).
    /// </summary>
    public float[] Probability => probability ??= ProbabilityResize.Resize(
        MaskOutputs.Foreground(networkProbabilities, Classes, networkSize * networkSize), networkSize, networkSize, Width, Height);

    /// <summary>The network's own output for this image: Classes planes of InputSize x InputSize.</summary>
    public ReadOnlySpan<float> NetworkProbabilities => networkProbabilities;

    /// <summary>
    /// Writes the mask as a lossless PNG (whole or not at all): 0/255 for one class, the class indices for several
    /// (what <c>malunet predict</c> writes as <c>&lt;id&gt;_mask.png</c>).
    /// </summary>
    public void SaveMask(string path) => ImageDecoder.SavePng(new Image8(Width, Height, 1, Labels ?? Mask), path);

    /// <summary>The mask as PNG bytes (<see cref="SaveMask"/>'s content).</summary>
    public byte[] EncodeMask() => ImageDecoder.EncodePng(new Image8(Width, Height, 1, Labels ?? Mask));

    /// <summary>Writes the probability map as an 8-bit PNG (round(255·p)).</summary>
    public void SaveProbability(string path) => MaskOutputs.SaveProbabilities(Probability, Width, Height, path);

    /// <summary>
    /// Writes the image with the lesion's contour drawn on it (for several classes: each class coloured, with a
    /// legend): a JPEG (quality 90) when <paramref name="path"/> ends in .jpg or .jpeg, else a PNG. The image is
    /// decoded again from its file or bytes.
    /// </summary>
    public void SaveOverlay(string path)
    {
        var image = sourceBytes != null ? ImageDecoder.DecodeRgb(sourceBytes, Source) : ImageDecoder.DecodeRgba(Source);
        if (Labels == null) MaskOutputs.SaveOverlay(image, Mask, path);
        else MaskOutputs.SaveClassOverlay(image, Labels, Classes, path);
    }

    private static BoundingBox? Bounds(byte[] mask, int width, int height)
    {
        int x0 = width, y0 = height, x1 = -1, y1 = -1;
        for (int y = 0; y < height; y++)
        {
            var row = mask.AsSpan(y * width, width);
            int first = row.IndexOfAnyExcept((byte)0);
            if (first < 0) continue;
            int last = row.LastIndexOfAnyExcept((byte)0);
            x0 = Math.Min(x0, first); x1 = Math.Max(x1, last);
            if (y0 == height) y0 = y;
            y1 = y;
        }
        return x1 < 0 ? null : new BoundingBox(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    }
}

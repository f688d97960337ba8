using Malunet.Data;
using Malunet.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Inference;

/// <summary>One image's prediction: the probability map at network size and the image's original size.</summary>
public sealed record ImagePrediction(string Path, int Width, int Height, float[] Probabilities, int Size)
{
    /// <summary>The probability map resized to the original image size (bilinear, pixel centres aligned).</summary>
    public float[] ProbabilitiesAtOriginalSize() => ImagePredictor.Resize(Probabilities, Size, Size, Width, Height);
}

/// <summary>
/// Segments image files: decodes each (EXIF orientation, grayscale/RGBA to RGB, large JPEGs at reduced scale), resizes
/// to the network size, applies the official preprocessing, runs the network in batches (optionally averaging over
/// flips, <c>tta</c>) and returns probability maps that callers resize back to each image's original size.
/// </summary>
public sealed class ImagePredictor
{
    private readonly IInferenceEngine engine;
    public int Size { get; }
    public bool TestTimeAugmentation { get; }

    public ImagePredictor(IInferenceEngine engine, int size = 256, bool tta = false)
    {
        this.engine = engine; Size = size; TestTimeAugmentation = tta;
    }

    public ImagePredictor(SegmentationModel model, Device device, int size = 256, bool tta = false)
        : this(new TorchEngine(model, device), size, tta) { }

    /// <summary>Decodes and resizes one file to the network input (throws InvalidDataException naming the file).</summary>
    public CachedSample Load(string path)
    {
        var (w, h) = ImageDecoder.ReadSize(path);
        return ToSample(path, ImageDecoder.DecodeRgb(path, Size, Size), w, h);
    }

    /// <summary>As <see cref="Load(string)"/> for an image held in memory (an upload); <paramref name="name"/> names it in errors.</summary>
    public CachedSample Load(byte[] data, string name)
    {
        var (w, h) = ImageDecoder.ReadSize(data, name);
        return ToSample(name, ImageDecoder.DecodeRgb(data, name, Size, Size), w, h);
    }

    private CachedSample ToSample(string id, Image8 decoded, int width, int height) =>
        new(id, Size, ImageDecoder.Resize(decoded, Size, Size).Pixels, null, width, height, 0, 0, 0);

    /// <summary>First-class probability maps (Size x Size) of already loaded images.</summary>
    public List<float[]> Predict(IReadOnlyList<CachedSample> images)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var x = Preprocessing.Images(images);
        var y = engine.Run(x);
        if (TestTimeAugmentation)
        {
            // Average over the flips the network was trained with; each prediction is flipped back first.
            foreach (var dims in new[] { new long[] { 3 }, new long[] { 2 }, new long[] { 2, 3 } })
                y = y + engine.Run(x.flip(dims)).flip(dims);
            y = y / 4;
        }
        var result = new List<float[]>();
        for (int i = 0; i < images.Count; i++) result.Add(y[i, 0].contiguous().data<float>().ToArray());
        return result;
    }

    /// <summary>
    /// Bilinear resize of a single-channel map with pixel centres aligned (as <c>F.interpolate(align_corners=False)</c>
    /// and Skia), in plain C# so that very large outputs (6000x4000) cost no more than the output array.
    /// </summary>
    public static float[] Resize(float[] src, int sw, int sh, int dw, int dh) => ResizeWindow(src, sw, sh, dw, dh, 0, 0, dw, dh);

    /// <summary>The part <c>[wx, wx+ww) x [wy, wy+wh)</c> of <see cref="Resize"/>'s output, computed alone.</summary>
    public static float[] ResizeWindow(float[] src, int sw, int sh, int dw, int dh, int wx, int wy, int ww, int wh)
    {
        var dst = new float[(long)ww * wh];
        var x0 = new int[ww]; var x1 = new int[ww]; var fx = new float[ww];
        for (int x = 0; x < ww; x++)
        {
            double s = Math.Max(0, (wx + x + 0.5) * sw / dw - 0.5);
            int i = Math.Min((int)s, sw - 1);
            x0[x] = i; x1[x] = Math.Min(i + 1, sw - 1); fx[x] = (float)(s - i);
        }
        Parallel.For(0, wh, y =>
        {
            double s = Math.Max(0, (wy + y + 0.5) * sh / dh - 0.5);
            int j = Math.Min((int)s, sh - 1), j1 = Math.Min(j + 1, sh - 1);
            float fy = (float)(s - j);
            int r0 = j * sw, r1 = j1 * sw;
            long o = (long)y * ww;
            for (int x = 0; x < ww; x++)
            {
                float top = src[r0 + x0[x]] + (src[r0 + x1[x]] - src[r0 + x0[x]]) * fx[x];
                float bottom = src[r1 + x0[x]] + (src[r1 + x1[x]] - src[r1 + x0[x]]) * fx[x];
                dst[o + x] = top + (bottom - top) * fy;
            }
        });
        return dst;
    }
}

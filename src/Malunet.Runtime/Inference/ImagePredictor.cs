using Malunet.Data;

namespace Malunet.Inference;

/// <summary>
/// Segments image files: decodes each (EXIF orientation, grayscale/RGBA to RGB, large JPEGs at reduced scale), resizes
/// to the network size, applies the official preprocessing, runs the network in batches (optionally averaging over
/// flips, <c>tta</c>) and returns probability maps that callers resize back to each image's original size.
/// </summary>
internal sealed class ImagePredictor
{
    private readonly IInferenceEngine engine;
    /// <summary>The network's square input size: images are resized to it.</summary>
    public int Size { get; }
    /// <summary>Whether predictions are averaged over the flips.</summary>
    public bool TestTimeAugmentation { get; }

    /// <summary>The network's output channels (<see cref="IInferenceEngine.Classes"/>).</summary>
    public int Classes => engine.Classes;

    /// <summary>Runs <paramref name="engine"/> at <paramref name="size"/> x <paramref name="size"/>, with flips averaged when <paramref name="tta"/>.</summary>
    public ImagePredictor(IInferenceEngine engine, int size = 256, bool tta = false)
    {
        this.engine = engine; Size = size; TestTimeAugmentation = tta;
    }

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

    /// <summary>
    /// The probability maps of already loaded images, one array per image: Size x Size for one class, Classes planes of
    /// Size x Size one after another otherwise. With test-time augmentation, the mean of the plain output and the
    /// outputs of the horizontally, vertically and doubly flipped batch, each flipped back (summed in that order).
    /// </summary>
    public List<float[]> Predict(IReadOnlyList<CachedSample> images)
    {
        int n = images.Count, s = Size, plane = s * s, perImage = Classes * plane;
        var x = Preprocessing.Images(images);
        var shape = new long[] { n, 3, s, s };
        var y = new float[n * perImage];
        engine.Run(x, shape, y);
        if (TestTimeAugmentation)
        {
            var flippedInput = new float[x.Length];
            var flippedOutput = new float[y.Length];
            foreach (var (rows, columns) in new[] { (false, true), (true, false), (true, true) })
            {
                Flip(x, flippedInput, s, rows, columns);
                engine.Run(flippedInput, shape, flippedOutput);
                Flip(flippedOutput, flippedOutput, s, rows, columns);
                for (int i = 0; i < y.Length; i++) y[i] += flippedOutput[i];
            }
            for (int i = 0; i < y.Length; i++) y[i] /= 4;
        }
        var result = new List<float[]>(n);
        for (int i = 0; i < n; i++) result.Add(y.AsSpan(i * perImage, perImage).ToArray());
        return result;
    }

    /// <summary>Mirrors every S x S plane of <paramref name="source"/> (top to bottom and/or left to right) into
    /// <paramref name="target"/>, which may be the same array.</summary>
    internal static void Flip(float[] source, float[] target, int s, bool rows, bool columns)
    {
        int plane = s * s;
        var line = new float[s];
        for (int p = 0; p < source.Length / plane; p++)
        {
            int o = p * plane;
            if (rows)
                for (int y = 0; y < (s + 1) / 2; y++)
                {
                    // Rows y and s-1-y swap (through a copy of one, so source and target may be one array).
                    source.AsSpan(o + y * s, s).CopyTo(line);
                    source.AsSpan(o + (s - 1 - y) * s, s).CopyTo(target.AsSpan(o + y * s, s));
                    line.CopyTo(target.AsSpan(o + (s - 1 - y) * s, s));
                }
            else if (!ReferenceEquals(source, target)) source.AsSpan(o, plane).CopyTo(target.AsSpan(o, plane));
            if (columns)
                for (int y = 0; y < s; y++) target.AsSpan(o + y * s, s).Reverse();
        }
    }
}

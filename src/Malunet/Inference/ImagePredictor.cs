using Malunet.Data;
using Malunet.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Inference;

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

    /// <summary>The network's output channels (<see cref="IInferenceEngine.Classes"/>).</summary>
    public int Classes => engine.Classes;

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

    /// <summary>
    /// The probability maps of already loaded images, one array per image: Size x Size for one class, Classes planes of
    /// Size x Size one after another otherwise.
    /// </summary>
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
        for (int i = 0; i < images.Count; i++) result.Add(y[i].contiguous().data<float>().ToArray());
        return result;
    }
}

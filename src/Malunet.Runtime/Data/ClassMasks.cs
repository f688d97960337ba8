namespace Malunet.Data;

/// <summary>
/// Multi-class masks (<c>--num-classes K</c>, K &gt;= 2): every pixel holds a class index 0..K-1, class 0 being the
/// background. Read from an 8-bit gray image (the gray value is the index), a palette PNG (the palette index is the
/// index, whatever colour the palette gives it), or any image whose red, green and blue are equal. Resized with the
/// nearest pixel centre, so two classes never blend into a third. The binary (K = 1) masks of the paper are read by
/// <see cref="ImageDecoder"/> and are not touched by this.
/// </summary>
public static class ClassMasks
{
    /// <summary>The class indices of a mask file at its full size (one byte a pixel); InvalidDataException naming the file otherwise.</summary>
    public static Image8 Decode(string path)
    {
        // The file check and the pixel limit before the palette reader allocates anything.
        var (width, height) = ImageDecoder.ReadSize(path);
        ImageDecoder.CheckPixelLimit(path, width, height);
        if (Interop.PngIndices.TryRead(path) is { } indexed) return new Image8(indexed.Width, indexed.Height, 1, indexed.Indices);
        var rgb = ImageDecoder.DecodeRgb(path);
        var px = rgb.Pixels;
        var labels = new byte[rgb.Width * rgb.Height];
        for (int i = 0; i < labels.Length; i++)
        {
            byte r = px[3 * i], g = px[3 * i + 1], b = px[3 * i + 2];
            if (r != g || g != b)
                throw new InvalidDataException($"{path}: colour mask (pixel ({i % rgb.Width}, {i / rgb.Width}) is RGB {r},{g},{b}); " +
                                               "multi-class masks hold class indices as 8-bit gray or palette PNG");
            labels[i] = r;
        }
        return new Image8(rgb.Width, rgb.Height, 1, labels);
    }

    /// <summary>Throws an InvalidDataException naming the file and the first value that is not a class index below <paramref name="classes"/>.</summary>
    public static void CheckRange(string path, Image8 labels, int classes)
    {
        int at = labels.Pixels.AsSpan().IndexOfAnyInRange((byte)Math.Min(classes, 255), (byte)255);
        if (classes <= 255 && at >= 0)
            throw new InvalidDataException($"{path}: mask value {labels.Pixels[at]} at ({at % labels.Width}, {at / labels.Width}) is not a class index below {classes} (the network has {classes} classes)");
    }

    /// <summary>Nearest-neighbour resize on pixel centres: output (x, y) takes source (floor((x + 0.5)·sw/dw), floor((y + 0.5)·sh/dh)).</summary>
    public static Image8 ResizeNearest(Image8 labels, int width, int height)
    {
        if (labels.Width == width && labels.Height == height) return labels;
        var src = labels.Pixels;
        var dst = new byte[width * height];
        var columns = new int[width];
        for (int x = 0; x < width; x++) columns[x] = Math.Min(labels.Width - 1, (int)((x + 0.5) * labels.Width / width));
        for (int y = 0; y < height; y++)
        {
            int row = Math.Min(labels.Height - 1, (int)((y + 0.5) * labels.Height / height)) * labels.Width;
            for (int x = 0; x < width; x++) dst[y * width + x] = src[row + columns[x]];
        }
        return new Image8(width, height, 1, dst);
    }
}

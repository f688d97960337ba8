using System.Buffers.Binary;
using System.IO.Compression;

namespace Malunet.Interop;

/// <summary>
/// Reads the palette indices of an indexed-colour PNG (colour type 3, bit depth 1, 2, 4 or 8, not interlaced), which
/// decoders such as Skia turn into colours. Multi-class masks saved by PIL in mode "P" hold their class indices this
/// way. Written from the PNG specification (ISO/IEC 15948): chunks, one zlib stream over the IDAT chunks, and the five
/// per-row filters.
/// </summary>
internal static class PngIndices
{
    private static readonly byte[] Signature = { 137, 80, 78, 71, 13, 10, 26, 10 };

    /// <summary>
    /// The indices (one byte a pixel, row-major) of an indexed-colour PNG; null for any other file, PNG or not.
    /// Throws <see cref="InvalidDataException"/> naming the file when an indexed PNG is damaged or interlaced.
    /// </summary>
    public static (int Width, int Height, byte[] Indices)? TryRead(string path)
    {
        using var file = File.OpenRead(path);
        var head = new byte[8 + 8 + 13];
        if (file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false) < head.Length || !head.AsSpan(0, 8).SequenceEqual(Signature)) return null;
        if (!head.AsSpan(12, 4).SequenceEqual("IHDR"u8)) return null;
        int width = BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(16)), height = BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(20));
        int depth = head[24], colourType = head[25], interlace = head[28];
        if (colourType != 3) return null;
        if (interlace != 0) throw new InvalidDataException($"{path}: interlaced palette PNG; save the mask without interlacing");
        if (depth is not (1 or 2 or 4 or 8) || width <= 0 || height <= 0) throw new InvalidDataException($"{path}: bad PNG header (bit depth {depth}, {width}x{height})");

        file.Position = 8;
        var compressed = new MemoryStream();
        var chunkHead = new byte[8];
        while (true)
        {
            if (file.ReadAtLeast(chunkHead, 8, throwOnEndOfStream: false) < 8) throw new InvalidDataException($"{path}: truncated PNG (no IEND chunk)");
            int length = BinaryPrimitives.ReadInt32BigEndian(chunkHead);
            var type = chunkHead.AsSpan(4, 4);
            if (length < 0 || file.Position + length + 4 > file.Length) throw new InvalidDataException($"{path}: truncated PNG chunk");
            if (type.SequenceEqual("IEND"u8)) break;
            if (type.SequenceEqual("IDAT"u8))
            {
                var data = new byte[length];
                file.ReadExactly(data);
                compressed.Write(data);
                file.Position += 4; // CRC
            }
            else file.Position += length + 4;
        }

        int rowBytes = (width * depth + 7) / 8;
        var raw = new byte[(long)(rowBytes + 1) * height];
        compressed.Position = 0;
        try
        {
            using var z = new ZLibStream(compressed, CompressionMode.Decompress);
            if (z.ReadAtLeast(raw, raw.Length, throwOnEndOfStream: false) < raw.Length) throw new InvalidDataException($"{path}: truncated PNG image data");
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: corrupt PNG image data ({e.Message})");
        }

        var indices = new byte[(long)width * height];
        var previous = new byte[rowBytes];
        var row = new byte[rowBytes];
        for (int y = 0; y < height; y++)
        {
            int filter = raw[(long)y * (rowBytes + 1)];
            raw.AsSpan((int)((long)y * (rowBytes + 1) + 1), rowBytes).CopyTo(row);
            Unfilter(filter, row, previous, path);
            for (int x = 0; x < width; x++)
            {
                int bit = x * depth;
                indices[(long)y * width + x] = (byte)((row[bit >> 3] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1));
            }
            (previous, row) = (row, previous);
        }
        return (width, height, indices);
    }

    /// <summary>Undoes one row's filter in place; for bit depths up to 8 the "previous byte" is one byte back.</summary>
    private static void Unfilter(int filter, byte[] row, byte[] above, string path)
    {
        for (int i = 0; i < row.Length; i++)
        {
            int left = i > 0 ? row[i - 1] : 0, up = above[i], upLeft = i > 0 ? above[i - 1] : 0;
            row[i] = filter switch
            {
                0 => row[i],
                1 => (byte)(row[i] + left),
                2 => (byte)(row[i] + up),
                3 => (byte)(row[i] + (left + up) / 2),
                4 => (byte)(row[i] + Paeth(left, up, upLeft)),
                _ => throw new InvalidDataException($"{path}: corrupt PNG image data (filter type {filter})"),
            };
        }
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}

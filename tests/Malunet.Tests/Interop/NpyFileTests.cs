using Malunet.Interop;
using static TorchSharp.torch;

namespace Malunet.Tests.Interop;

public class NpyFileTests : TempFolderTest
{

    [Fact]
    public void Header_is_numpy_v1_with_64_byte_alignment()
    {
        var p = Path.Combine(dir, "a.npy");
        NpyTensors.Write(p, arange(6, float32).reshape(2, 3));
        var b = File.ReadAllBytes(p);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, b[..8]);
        int headerLen = BitConverter.ToUInt16(b, 8);
        Assert.Equal(0, (10 + headerLen) % 64);
        var header = System.Text.Encoding.ASCII.GetString(b, 10, headerLen);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header);
        Assert.EndsWith("\n", header);
        Assert.Equal(10 + headerLen + 24, b.Length);
        Assert.Equal(5f, BitConverter.ToSingle(b, 10 + headerLen + 20));
    }

    [Fact]
    public void Round_trip_keeps_shape_and_values()
    {
        var p = Path.Combine(dir, "b.npy");
        var t = randn(2, 3, 32, 32);
        NpyTensors.Write(p, t);
        var back = NpyTensors.Read(p);
        Assert.Equal(t.shape, back.shape);
        Assert.True(t.allclose(back, rtol: 0, atol: 0));
        NpyTensors.Write(p, arange(5, float32));
        Assert.Equal(new long[] { 5 }, NpyTensors.Read(p).shape);
    }

    [Fact]
    public void Truncated_and_foreign_files_are_clear_errors()
    {
        var p = Path.Combine(dir, "c.npy");
        NpyTensors.Write(p, randn(4, 4));
        var b = File.ReadAllBytes(p);
        File.WriteAllBytes(p, b[..(b.Length - 8)]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => NpyTensors.Read(p)).Message);
        File.WriteAllText(p, "not numpy");
        Assert.Contains("not a .npy", Assert.Throws<InvalidDataException>(() => NpyTensors.Read(p)).Message);
    }

    /// <summary>Writes a 3 x 2 x 2 array of <paramref name="descr"/> with the given raw element bytes.</summary>
    private string WriteRaw(string name, string descr, byte[] data)
    {
        var header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': (3, 2, 2), }}";
        header += new string(' ', (64 - (10 + header.Length + 1) % 64) % 64) + "\n";
        var p = Path.Combine(dir, name);
        using var f = File.Create(p);
        f.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        f.Write(BitConverter.GetBytes((ushort)header.Length));
        f.Write(System.Text.Encoding.ASCII.GetBytes(header));
        f.Write(data);
        return p;
    }

    /// <summary>Rows read as float32 without libtorch equal libtorch's own conversion of the same rows, for every element type.</summary>
    [Theory]
    [InlineData("<f4")]
    [InlineData("<f8")]
    [InlineData("<f2")]
    [InlineData("<i8")]
    [InlineData("<i4")]
    [InlineData("|u1")]
    [InlineData("|b1")]
    public void Rows_read_as_float32_equal_libtorchs_conversion(string descr)
    {
        var values = Enumerable.Range(0, 12).Select(i => (i * 37 % 11) * 1.7 - 3.0).ToArray();
        byte[] data = descr switch
        {
            "<f4" => values.SelectMany(v => BitConverter.GetBytes((float)v)).ToArray(),
            "<f8" => values.SelectMany(BitConverter.GetBytes).ToArray(),
            "<f2" => values.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray(),
            "<i8" => values.SelectMany(v => BitConverter.GetBytes((long)v)).ToArray(),
            "<i4" => values.SelectMany(v => BitConverter.GetBytes((int)v)).ToArray(),
            "|u1" => values.Select(v => (byte)Math.Abs(v * 20)).ToArray(),
            _ => values.Select(v => (byte)(v > 0 ? 1 : 0)).ToArray(),
        };
        var p = WriteRaw("t.npy", descr, data);
        var header = NpyFile.ReadHeader(p);
        using var f = new FileStream(p, FileMode.Open, FileAccess.Read);
        var rows = new float[8];
        NpyFile.ReadRowsAsFloat32(f, header, 1, rows);
        var expected = NpyTensors.Read(p).to(float32)[1..3].contiguous().data<float>().ToArray();
        Assert.Equal(expected, rows);
        var tooFar = new float[8];
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => NpyFile.ReadRowsAsFloat32(f, header, 2, tooFar)).Message);
    }
}

using Malunet.Interop;
using static TorchSharp.torch;

namespace Malunet.Tests.Interop;

public class NpyFileTests : TempFolderTest
{

    [Fact]
    public void Header_is_numpy_v1_with_64_byte_alignment()
    {
        var p = Path.Combine(dir, "a.npy");
        NpyFile.Write(p, arange(6, float32).reshape(2, 3));
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
        NpyFile.Write(p, t);
        var back = NpyFile.Read(p);
        Assert.Equal(t.shape, back.shape);
        Assert.True(t.allclose(back, rtol: 0, atol: 0));
        NpyFile.Write(p, arange(5, float32));
        Assert.Equal(new long[] { 5 }, NpyFile.Read(p).shape);
    }

    [Fact]
    public void Truncated_and_foreign_files_are_clear_errors()
    {
        var p = Path.Combine(dir, "c.npy");
        NpyFile.Write(p, randn(4, 4));
        var b = File.ReadAllBytes(p);
        File.WriteAllBytes(p, b[..(b.Length - 8)]);
        Assert.Contains("truncated", Assert.Throws<InvalidDataException>(() => NpyFile.Read(p)).Message);
        File.WriteAllText(p, "not numpy");
        Assert.Contains("not a .npy", Assert.Throws<InvalidDataException>(() => NpyFile.Read(p)).Message);
    }
}

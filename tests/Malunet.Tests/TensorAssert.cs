using static TorchSharp.torch;

namespace Malunet.Tests;

public static class TensorAssert
{
    /// <summary>Largest |a-b| in float64.</summary>
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        using var d = (a.to(float64) - b.to(float64)).abs().max();
        return d.item<double>();
    }

    public static void Close(Tensor expected, Tensor actual, double atol, string what)
    {
        double diff = MaxAbsDiff(actual, expected);
        Assert.True(diff <= atol, $"{what}: max |diff| {diff:E3} > {atol:E3}");
    }
}

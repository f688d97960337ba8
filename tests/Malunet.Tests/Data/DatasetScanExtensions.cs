using Malunet.Data;

namespace Malunet.Tests.Data;

public static class DatasetScanExtensions
{
    /// <summary>The samples of the layout's parts named.</summary>
    public static IEnumerable<Sample> InSubset(this DatasetScan scan, params string[] subsets) => scan.Samples.Where(s => subsets.Contains(s.Subset));
}

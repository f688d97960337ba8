using Malunet.Interop;
using static TorchSharp.torch;

namespace Malunet.Tests;

/// <summary>
/// Finds ../shared (the read-only data and fixtures beside the repository) or $MALUNET_SHARED. Missing data is a
/// failure, never a skip: CI always has it.
/// </summary>
public static class SharedData
{
    private static readonly Lazy<string> root = new(() =>
    {
        var env = Environment.GetEnvironmentVariable("MALUNET_SHARED");
        if (!string.IsNullOrEmpty(env))
            return Directory.Exists(env) ? env : throw new DirectoryNotFoundException($"MALUNET_SHARED={env} does not exist");
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Malunet.sln")))
            {
                var shared = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared"));
                if (Directory.Exists(shared)) return shared;
                throw new DirectoryNotFoundException($"shared data not found at {shared}; set MALUNET_SHARED");
            }
        }
        throw new DirectoryNotFoundException("repository root (Malunet.sln) not found above the test binaries; set MALUNET_SHARED");
    });

    public static string Root => root.Value;
    public static string RepoRoot => Path.GetFullPath(Path.Combine(Root, "..", Path.GetFileName(FindRepo())));
    private static string FindRepo()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Malunet.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("repository root not found");
    }
    public static string Repository => FindRepo();

    public static string Fixture(string file) => Path.Combine(Root, "fixtures", "malunet-official", "seed0_default", file);
    public static string Isic2017 => Dataset("isic2017");
    /// <summary>A data set folder of ../shared/data (isic2017, isic2018, ...).</summary>
    public static string Dataset(string name) => Path.Combine(Root, "data", name);
    /// <summary>The paper's 7:3 split file of a data set in ../shared/data.</summary>
    public static string PaperSplit(string dataset) => Path.Combine(Dataset(dataset), "splits", "malunet_7to3_seed42.json");

    public static Dictionary<string, Tensor> ReadGroup(string stem) =>
        RawTensorFile.Read(Fixture(stem + ".json")).ToDictionary(t => t.Name, t => t.Value);

    public static List<(string Name, Tensor Value)> ReadGroupOrdered(string stem) => RawTensorFile.Read(Fixture(stem + ".json"));

    private static readonly Lazy<System.Text.Json.Nodes.JsonObject> expected = new(() =>
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Fixture("expected.json")))!.AsObject());
    public static System.Text.Json.Nodes.JsonObject Expected => expected.Value;
}

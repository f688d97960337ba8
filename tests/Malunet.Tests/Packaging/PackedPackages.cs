using System.IO.Compression;
using System.Xml.Linq;
using Malunet.Tests.Cli;

namespace Malunet.Tests.Packaging;

/// <summary>
/// The three packages packed once for the packaging tests, into a temporary folder, with a version no cache has
/// seen (so that nothing restores an older copy): Malunet.Runtime and Malunet from the build the tests run on,
/// Malunet.Tool built for linux-x64 as <c>dotnet pack</c> does for a tool.
/// </summary>
public sealed class PackedPackages : IDisposable
{
#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif

    public string Folder { get; } = Directory.CreateTempSubdirectory("malunet-packages-").FullName;
    public string Source => Path.Combine(Folder, "packages");
    public string Version { get; } = $"0.9.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}";

    public PackedPackages()
    {
        var src = Path.Combine(SharedData.Repository, "src");
        Pack(Path.Combine(src, "Malunet.Runtime"), "--no-build");
        Pack(Path.Combine(src, "Malunet"), "--no-build");
        Pack(Path.Combine(src, "Malunet.Cli"));
    }

    private void Pack(string project, params string[] extra)
    {
        var r = Dotnet(null, ["pack", project, "-c", Configuration, "-o", Source, $"-p:Version={Version}", "-nologo", "-v", "quiet", .. extra]);
        Assert.True(r.ExitCode == 0, $"dotnet pack {project} failed:\n{r.Stdout}\n{r.Stderr}");
    }

    /// <summary>Runs the dotnet command with telemetry and first-run messages off.</summary>
    public static CliRunner.Result Dotnet(string? workingDirectory, params string[] args) =>
        CliRunner.RunProgram("dotnet", workingDirectory,
            new Dictionary<string, string?> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1", ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1" }, args);

    /// <summary>The path of one packed package.</summary>
    public string Package(string id) => Path.Combine(Source, $"{id}.{Version}.nupkg");

    /// <summary>A package's .nuspec.</summary>
    public XDocument Nuspec(string id)
    {
        using var zip = ZipFile.OpenRead(Package(id));
        using var stream = zip.Entries.Single(e => e.FullName == $"{id}.nuspec").Open();
        return XDocument.Load(stream);
    }

    /// <summary>The files inside a package.</summary>
    public IReadOnlyList<string> Entries(string id)
    {
        using var zip = ZipFile.OpenRead(Package(id));
        return zip.Entries.Select(e => e.FullName).ToList();
    }

    public void Dispose()
    {
        try { Directory.Delete(Folder, true); } catch (IOException) { }
    }
}

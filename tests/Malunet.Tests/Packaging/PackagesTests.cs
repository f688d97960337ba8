using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Malunet.Native;
using Malunet.Tests.Cli;

namespace Malunet.Tests.Packaging;

/// <summary>
/// The packages as a .NET developer meets them: Malunet.Runtime carries no libtorch; a new console app that
/// references it from the packed folder alone runs the README's own example and writes the masks
/// <c>malunet predict --engine onnx</c> writes; the tool installs and predicts the same masks.
/// </summary>
public class PackagesTests(PackedPackages packages) : IClassFixture<PackedPackages>
{
    private static readonly string FullResolution = Path.Combine(SharedData.Root, "data", "isic2017_fullres", "images");

    [Fact]
    public void The_runtime_package_holds_the_network_weights_and_docs_and_nothing_of_libtorch()
    {
        var entries = packages.Entries("Malunet.Runtime");
        foreach (var expected in new[] { "lib/net10.0/Malunet.Runtime.dll", "lib/net10.0/Malunet.Runtime.xml", "README.md",
                                         "weights/malunet-isic2017.onnx", "weights/known-answers.safetensors",
                                         "weights/malunet-isic2017.card.json", "weights/isic2017.split.json", "buildTransitive/Malunet.Runtime.targets" })
            Assert.Contains(expected, entries);
        var nuspec = packages.Nuspec("Malunet.Runtime");
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")!.Value));
        var dependencies = metadata.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
        Assert.Contains("Microsoft.ML.OnnxRuntime", dependencies);
        Assert.DoesNotContain(dependencies, d => d.Contains("torch", StringComparison.OrdinalIgnoreCase));

        // Nor does the assembly itself reference TorchSharp.
        using var zip = ZipFile.OpenRead(packages.Package("Malunet.Runtime"));
        using var dll = new MemoryStream();
        using (var s = zip.GetEntry("lib/net10.0/Malunet.Runtime.dll")!.Open()) s.CopyTo(dll);
        dll.Position = 0;
        using var pe = new PEReader(dll);
        var reader = pe.GetMetadataReader();
        var references = reader.AssemblyReferences.Select(h => reader.GetString(reader.GetAssemblyReference(h).Name)).ToList();
        Assert.Contains("Microsoft.ML.OnnxRuntime", references);
        Assert.DoesNotContain("TorchSharp", references);

        // The libtorch package depends on it, and on libtorch for Linux x64 alone.
        var full = packages.Nuspec("Malunet");
        var fullDependencies = full.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).ToList();
        Assert.Contains("Malunet.Runtime", fullDependencies);
        Assert.Contains("libtorch-cpu-linux-x64", fullDependencies);
        Assert.DoesNotContain("TorchSharp-cpu", fullDependencies);
    }

    [Fact]
    public void A_new_app_runs_the_readme_example_from_the_package_and_writes_the_masks_of_predict()
    {
        var (app, output) = BuildConsumer("consumer", "Malunet.Runtime", ReadmeExamples()[0]);
        Assert.DoesNotContain(Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories),
                              f => Path.GetFileName(f).Contains("torch", StringComparison.OrdinalIgnoreCase));

        var masks = Path.Combine(app, "masks");
        var run = CliRunner.RunDll(Path.Combine(output, "consumer.dll"), app, null, FullResolution, masks);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(3, Regex.Matches(run.Stdout, @"lesion \d").Count);

        // The CLI runs each image alone (batch 1) as Segment does; a batch's images may differ in the last bits.
        AssertSameMasks(masks, "predict", "--engine", "onnx", "--batch-size", "1", "--no-overlay");
    }

    [Fact]
    public void An_app_of_the_libtorch_package_gets_the_glibcxx_fix_and_runs_the_readme_example_on_libtorch()
    {
        var (app, output) = BuildConsumer("torch-consumer", "Malunet", ReadmeExamples()[1]);
        // The package's build file marked the shim's GLIBCXX_3.4.32 weak where this system lacks it, before any run
        // (the library would also try at start, but a read-only published app could not be mended then).
        var shims = Directory.GetFiles(output, ElfVersionNeeds.TorchSharpNative, SearchOption.AllDirectories);
        Assert.NotEmpty(shims);
        foreach (var shim in shims)
            Assert.Empty(ElfVersionNeeds.UnmetRequirements(shim));

        var masks = Path.Combine(app, "masks");
        var run = CliRunner.RunDll(Path.Combine(output, "torch-consumer.dll"), app, null, FullResolution, masks);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Equal(3, Regex.Matches(run.Stdout, @"\d+ lesion pixels").Count);
        Assert.Equal(3, Directory.GetFiles(masks, "*_overlay.png").Length);
        AssertSameMasks(masks, "predict", "--model", "egeunet", "--engine", "torch", "--batch-size", "1", "--no-overlay");
    }

    /// <summary>
    /// Builds a new console app around <paramref name="program"/> that references <paramref name="package"/> from the
    /// packed folder only; returns its folder and its build output.
    /// </summary>
    private (string App, string Output) BuildConsumer(string name, string package, string program)
    {
        var app = Path.Combine(packages.Folder, name);
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "Program.cs"), program);
        File.WriteAllText(Path.Combine(app, $"{name}.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="{package}" Version="{packages.Version}" />
              </ItemGroup>
            </Project>
            """);
        // The package comes from the packed folder only; its dependencies from the machine's package cache, where the
        // repository's own restore put them (read-only: nothing of this test is added to it).
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(Path.Combine(app, "NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources><clear /><add key="malunet" value="{packages.Source}" /></packageSources>
              <fallbackPackageFolders><clear /><add key="machine" value="{cache}" /></fallbackPackageFolders>
              <config><add key="globalPackagesFolder" value="{Path.Combine(packages.Folder, "nuget")}" /></config>
            </configuration>
            """);
        var build = PackedPackages.Dotnet(app, "build", "-c", "Release", "-nologo", "-v", "quiet");
        Assert.True(build.ExitCode == 0, $"the {name} app did not build:\n{build.Stdout}\n{build.Stderr}");
        return (app, Path.Combine(app, "bin", "Release", "net10.0"));
    }

    /// <summary>The masks in <paramref name="masks"/> are byte-identical to those of the CLI verb given, on the same images.</summary>
    private void AssertSameMasks(string masks, params string[] verb)
    {
        var predicted = Path.Combine(packages.Folder, $"predicted-{Guid.NewGuid():N}");
        var cli = CliRunner.Run([.. verb, "--input", FullResolution, "--output", predicted]);
        Assert.True(cli.ExitCode == 0, cli.Stderr);
        var expected = Directory.GetFiles(predicted, "*_mask.png").Order().ToList();
        Assert.Equal(3, expected.Count);
        foreach (var mask in expected)
            Assert.Equal(File.ReadAllBytes(mask), File.ReadAllBytes(Path.Combine(masks, Path.GetFileName(mask))));
    }

    [Fact]
    public void The_tool_installs_from_the_folder_and_predicts_the_masks_of_the_build()
    {
        var tools = Path.Combine(packages.Folder, "tools");
        var install = PackedPackages.Dotnet(null, "tool", "install", "Malunet.Tool", "--tool-path", tools, "--add-source", packages.Source, "--version", packages.Version);
        Assert.True(install.ExitCode == 0, $"{install.Stdout}\n{install.Stderr}");
        var malunet = Path.Combine(tools, "malunet");
        var help = CliRunner.RunProgram(malunet, null, null, "--help");
        Assert.Contains("malunet [command] [options]", help.Stdout);

        var fromTool = Path.Combine(packages.Folder, "tool-masks");
        var run = CliRunner.RunProgram(malunet, null, null, "predict", "--input", FullResolution, "--output", fromTool);
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Contains("using the bundled weights", run.Stderr);
        var fromBuild = Path.Combine(packages.Folder, "build-masks");
        Assert.Equal(0, CliRunner.Run("predict", "--input", FullResolution, "--output", fromBuild).ExitCode);
        foreach (var mask in Directory.GetFiles(fromBuild, "*_mask.png"))
            Assert.Equal(File.ReadAllBytes(mask), File.ReadAllBytes(Path.Combine(fromTool, Path.GetFileName(mask))));
        Assert.Equal(File.ReadAllText(Path.Combine(fromBuild, "summary.csv")), File.ReadAllText(Path.Combine(fromTool, "summary.csv")));
    }

    /// <summary>The C# blocks of the README's section on .NET programs, as it stands: Malunet.Runtime's, then Malunet's.</summary>
    private static IReadOnlyList<string> ReadmeExamples()
    {
        var readme = File.ReadAllText(Path.Combine(SharedData.Repository, "README.md"));
        var start = readme.IndexOf("## From a .NET program", StringComparison.Ordinal);
        var end = readme.IndexOf("\n## ", start + 1, StringComparison.Ordinal);
        var blocks = Regex.Matches(readme[start..end], "```csharp\n(.*?)```", RegexOptions.Singleline).Select(m => m.Groups[1].Value).ToList();
        Assert.True(blocks.Count == 2, $"the README's section on .NET programs has {blocks.Count} C# examples, not 2");
        return blocks;
    }
}

using Malunet.Native;

namespace Malunet.Tests.Native;

/// <summary>
/// The build marks libLibTorchSharp.so's GLIBCXX_3.4.32 requirement weak where the system libstdc++ lacks it
/// (Debian 12). These tests run the patcher on a pristine copy from the NuGet cache and check the build output.
/// </summary>
public class WeakGlibcxxTests : TempFolderTest
{

    private static string PristineLibrary()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                   ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var p = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", ElfVersionNeeds.TorchSharpNative);
        Assert.True(File.Exists(p), $"TorchSharp's native library not found in the NuGet cache at {p}");
        return p;
    }

    private static string SystemStdCxx() => ElfVersionNeeds.FindSystemLibrary() ?? throw new FileNotFoundException("no system libstdc++.so.6");

    [Fact]
    public void Pristine_library_requires_the_version_strongly_and_only_for_the_marker_symbol()
    {
        var bytes = File.ReadAllBytes(PristineLibrary());
        var req = ElfVersionNeeds.ReadRequirements(bytes).Single(r => r.Version == ElfVersionNeeds.GlibcxxMarkerVersion);
        Assert.Equal(ElfVersionNeeds.StdCxxSoname, req.File);
        Assert.False(req.IsWeak);
        Assert.Equal(new[] { ElfVersionNeeds.MarkerSymbol }, ElfVersionNeeds.SymbolsWithVersionIndex(bytes, req.Index));
    }

    [Fact]
    public void Patch_sets_only_the_weak_flag_and_is_idempotent()
    {
        var copy = Path.Combine(dir, ElfVersionNeeds.TorchSharpNative);
        File.Copy(PristineLibrary(), copy);
        var before = File.ReadAllBytes(copy);
        var system = SystemStdCxx();
        bool systemHas = ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(system)).Contains(ElfVersionNeeds.GlibcxxMarkerVersion);

        var first = ElfVersionNeeds.EnsureLoadable(copy);
        if (systemHas)
        {
            // A newer system: nothing to do, file untouched.
            Assert.Equal(WeakPatchOutcome.SystemHasVersion, first);
            Assert.Equal(before, File.ReadAllBytes(copy));
            return;
        }
        Assert.Equal(WeakPatchOutcome.Patched, first);
        var after = File.ReadAllBytes(copy);
        var changed = Enumerable.Range(0, before.Length).Where(i => before[i] != after[i]).ToList();
        var req = ElfVersionNeeds.ReadRequirements(after).Single(r => r.Version == ElfVersionNeeds.GlibcxxMarkerVersion);
        Assert.Equal(new[] { (int)req.FlagsOffset }, changed);  // exactly vna_flags' low byte
        Assert.True(req.IsWeak);
        Assert.Equal(WeakPatchOutcome.AlreadyWeak, ElfVersionNeeds.EnsureLoadable(copy));
        Assert.Equal(after, File.ReadAllBytes(copy));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public void Nothing_is_done_where_the_system_defines_the_version()
    {
        // GLIBCXX_3.4.30 is required too, and Debian 12's libstdc++ defines it.
        var copy = Path.Combine(dir, "lib.so");
        File.Copy(PristineLibrary(), copy);
        Assert.Equal(WeakPatchOutcome.SystemHasVersion, ElfVersionNeeds.EnsureLoadable(copy, "GLIBCXX_3.4.30", SystemStdCxx()));
        Assert.Equal(WeakPatchOutcome.NotRequired, ElfVersionNeeds.EnsureLoadable(copy, "GLIBCXX_9.9.9", SystemStdCxx()));
    }

    [Fact]
    public void Refuses_to_weaken_a_version_that_real_functions_need()
    {
        var copy = Path.Combine(dir, "lib.so");
        File.Copy(PristineLibrary(), copy);
        var before = File.ReadAllBytes(copy);
        // Pretend the system library is libm (it defines no GLIBCXX versions): GLIBCXX_3.4.30 binds real symbols.
        var libm = Path.Combine(Path.GetDirectoryName(SystemStdCxx())!, "libm.so.6");
        var e = Assert.Throws<InvalidOperationException>(() => ElfVersionNeeds.EnsureLoadable(copy, "GLIBCXX_3.4.30", libm));
        Assert.Contains("would hide a missing function", e.Message);
        Assert.Equal(before, File.ReadAllBytes(copy));
    }

    [Fact]
    public void Build_output_copy_loads_here()
    {
        var copies = TorchRuntime.NativeCandidates().ToList();
        Assert.NotEmpty(copies);
        foreach (var lib in copies)
            Assert.Empty(ElfVersionNeeds.UnmetRequirements(lib, SystemStdCxx()));
        TorchRuntime.EnsureLoaded();
        using var t = TorchSharp.torch.ones(2, 2);
        Assert.Equal(4f, t.sum().item<float>());
    }

    [Fact]
    public void Non_elf_input_is_rejected()
    {
        var p = Path.Combine(dir, "x.so");
        File.WriteAllText(p, "not an elf file at all, just text");
        Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.ReadRequirements(File.ReadAllBytes(p)));
    }
}

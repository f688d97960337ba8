using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Malunet.Native;

/// <summary>libtorch could not be loaded; the message names the cause.</summary>
public sealed class NativeLibraryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Loads TorchSharp's native libraries once, before anything else touches <c>torch</c>, and turns a failure into a
/// message that names the cause. On Linux it first runs the same weak-GLIBCXX check as the build
/// (<see cref="ElfVersionNeeds.EnsureLoadable"/>) on the copy of libLibTorchSharp.so beside the program, so an
/// install that skipped our build (a copied folder, a NuGet tool) still loads on Debian 12.
/// </summary>
public static class TorchRuntime
{
    private static readonly object gate = new();
    private static bool loaded;

    /// <summary>The libLibTorchSharp.so copies the loader may pick up (beside the program, or in runtimes/linux-x64/native).</summary>
    public static IEnumerable<string> NativeCandidates()
    {
        var baseDir = AppContext.BaseDirectory;
        foreach (var p in new[]
                 {
                     Path.Combine(baseDir, ElfVersionNeeds.TorchSharpNative),
                     Path.Combine(baseDir, "runtimes", "linux-x64", "native", ElfVersionNeeds.TorchSharpNative),
                     Path.Combine(baseDir, "cpu", ElfVersionNeeds.TorchSharpNative),
                 })
            if (File.Exists(p)) yield return p;
    }

    /// <summary>Loads libtorch once per process (the ISA cap first, then the native libraries); safe to call from any thread.</summary>
    public static void EnsureLoaded()
    {
        lock (gate)
        {
            if (loaded) return;
            OneDnnIsa.Apply();
            MallocTuning.Apply();
            if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
            {
                foreach (var lib in NativeCandidates())
                {
                    try { ElfVersionNeeds.EnsureLoadable(lib); }
                    catch (Exception) { /* read-only install or unexpected layout: diagnosed below if loading fails */ }
                }
            }
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
                using var probe = torch.zeros(1);
            }
            catch (Exception e)
            {
                throw new NativeLibraryException(Diagnose(e), e);
            }
            QuietNnpack();
            loaded = true;
        }
    }

    [DllImport("torch_cpu", EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport("torch_cpu", EntryPoint = "_ZN2at7Context20setUserEnabledNNPACKEb")]
    private static extern void SetUserEnabledNnpack(IntPtr context, [MarshalAs(UnmanagedType.I1)] bool enabled);

    /// <summary>
    /// Switches NNPACK off in libtorch's context. libtorch asks NNPACK at every convolution whether it may be used, and
    /// where NNPACK does not support the processor it prints "Could not initialize NNPACK! Reason: Unsupported
    /// hardware." on stderr each time (56 lines for a predict of three images). libtorch chooses NNPACK only for batches
    /// of 16 or more; those now run on the same oneDNN and ATen kernels as smaller batches.
    /// </summary>
    private static void QuietNnpack()
    {
        try { SetUserEnabledNnpack(GlobalContext(), false); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Another libtorch build (e.g. CUDA on Windows) without these exports: the lines stay, nothing else changes.
        }
    }

    /// <summary>A one-line reason for a failed load.</summary>
    public static string Diagnose(Exception e)
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            try
            {
                var stdcxx = ElfVersionNeeds.FindSystemLibrary();
                foreach (var lib in NativeCandidates())
                {
                    var unmet = ElfVersionNeeds.UnmetRequirements(lib, stdcxx);
                    if (unmet.Count > 0)
                        return $"libtorch failed to load: {lib} needs {string.Join(", ", unmet)} but {stdcxx ?? "the system libstdc++"} " +
                               "does not define it. Rebuild with 'dotnet build' (the build marks GLIBCXX_3.4.32 weak) or make that file writable so malunet can, or install a newer libstdc++.";
                }
            }
            catch (Exception) { /* fall through to the generic message */ }
        }
        var inner = e;
        while (inner.InnerException != null) inner = inner.InnerException;
        var first = inner.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? inner.GetType().Name;
        return $"libtorch failed to load: {first}";
    }

    /// <summary>Parses <c>--device</c>: <c>cpu</c>, or <c>cuda</c>/<c>cuda:N</c> when a CUDA libtorch is present.</summary>
    public static Device ResolveDevice(string name)
    {
        EnsureLoaded();
        var n = name.Trim().ToLowerInvariant();
        if (n == "cpu") return CPU;
        if (n == "cuda" || n.StartsWith("cuda:", StringComparison.Ordinal))
        {
            if (!torch.cuda.is_available())
                throw new InvalidOptionException("device", $"{name}: CUDA is not available (this build uses the CPU libtorch, TorchSharp-cpu)");
            return torch.device(n);
        }
        throw new InvalidOptionException("device", $"must be cpu or cuda[:N], not '{name}'");
    }
}

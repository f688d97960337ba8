using System.Runtime.InteropServices;

namespace Malunet.Native;

/// <summary>
/// Opt-in (MALUNET_MALLOC_TUNING=1): keeps libtorch's large tensor blocks in glibc's heap instead of mmap'ing and
/// unmapping them on every allocation, so a training step does not page-fault its activations in again (one paired
/// bench here: batch-8 step 370 ms, 320 ms with it). Off by default because the retained heap fragments and resident
/// memory creeps up epoch after epoch (measured: +30 MB per epoch on the 1350-image split, where the default
/// plateaus), and the end-to-end gain was within this machine's noise. Same effect as
/// MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_, which cannot be set from inside a running process. Linux/glibc only.
/// </summary>
public static class MallocTuning
{
    private const int M_TRIM_THRESHOLD = -1, M_TOP_PAD = -2, M_MMAP_THRESHOLD = -3;

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int param, int value);

    /// <summary>Whether the tuning was applied in this process.</summary>
    public static bool Applied { get; private set; }

    /// <summary>Applies it once (a no-op where glibc's malloc is not used).</summary>
    public static void Apply()
    {
        if (Applied || !RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return;
        if (Environment.GetEnvironmentVariable("MALUNET_MALLOC_TUNING") != "1") return;
        try
        {
            // 32 MB is glibc's upper bound for the mmap threshold on 64-bit; a [8,8,256,256] float map is 16 MB.
            Mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
            Mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
            Mallopt(M_TOP_PAD, 64 * 1024 * 1024);
            Applied = true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // musl or another libc: nothing to tune.
        }
    }
}

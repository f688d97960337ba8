using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Malunet.Native;

/// <summary>
/// Caps the instruction set of libtorch's oneDNN at AVX2 before its first primitive. libtorch 2.10's oneDNN 3.7.1
/// computes some float32 3x3 convolutions wrong with its AVX-512 kernels (every wrong case measured has 24 input
/// channels, as MALUNet's decoder4 has: errors of 5 to 24 on unit-variance inputs; ../shared/notes/avx512-onednn.md).
/// With the cap the whole network matches the official code to 1e-5 on AVX-512 processors, and it was the fastest
/// exact choice measured (switching oneDNN off costs 2.5x per training step and 9x at batch 8; BENCHMARKS.md).
/// oneDNN reads <c>ONEDNN_MAX_CPU_ISA</c> (else <c>DNNL_MAX_CPU_ISA</c>) once, from the native environment, at its
/// first primitive: .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach libc's
/// <c>getenv</c> on Linux, so libc's <c>setenv</c> is called as well. A lower cap the user set (SSE41, AVX) is kept;
/// a higher one is lowered to AVX2, unless <c>MALUNET_ONEDNN_ISA_UNCAPPED=1</c> asks to keep it (for measuring the
/// uncapped kernels; the known-answer check still refuses a wrong network).
/// </summary>
public static class OneDnnIsa
{
    /// <summary>The variable oneDNN reads its ISA cap from.</summary>
    public const string Variable = "ONEDNN_MAX_CPU_ISA";
    /// <summary>Its older name, which oneDNN also reads.</summary>
    public const string LegacyVariable = "DNNL_MAX_CPU_ISA";
    /// <summary>Set to 1 to lift the cap (for measuring the uncapped kernels only).</summary>
    public const string UncappedVariable = "MALUNET_ONEDNN_ISA_UNCAPPED";

    /// <summary>The highest ISA oneDNN may use: exact on every processor measured.</summary>
    public const string Cap = "AVX2";

    /// <summary>oneDNN's ISA names at or below <see cref="Cap"/>, lowest first.</summary>
    private static readonly string[] AtOrBelowCap = ["SSE41", "AVX", "AVX2"];

    private static readonly object gate = new();

    /// <summary>The value oneDNN will read (null before <see cref="Apply"/>; "ALL" when uncapped without a value).</summary>
    public static string? Effective { get; private set; }

    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);

    [DllImport("libc", EntryPoint = "getenv")]
    private static extern IntPtr GetEnv(string name);

    /// <summary>Applies the cap once per process; cheap (no libtorch is loaded). Safe to call from any entry point.</summary>
    public static void Apply()
    {
        lock (gate)
        {
            if (Effective != null) return;
            var asked = Read(Variable) ?? Read(LegacyVariable);
            string value;
            if (Environment.GetEnvironmentVariable(UncappedVariable) == "1")
                value = asked ?? "ALL";
            else
                value = asked != null && AtOrBelowCap.Contains(asked.Trim().ToUpperInvariant()) ? asked.Trim().ToUpperInvariant() : Cap;
            if (value != "ALL" || asked != null) Write(Variable, value);
            Effective = value;
        }
    }

    /// <summary>Runs the cap as soon as the library is loaded, so a caller's first network already has it.</summary>
#pragma warning disable CA2255 // the cap must precede any oneDNN primitive, whichever entry point comes first
    [ModuleInitializer]
    internal static void ApplyOnLoad() => Apply();
#pragma warning restore CA2255

    private static string? Read(string name)
    {
        string? v = null;
        if (!OperatingSystem.IsWindows())
        {
            try { var p = GetEnv(name); v = p == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(p); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
        }
        v ??= Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(v) ? null : v;
    }

    private static void Write(string name, string value)
    {
        // The managed copy is what child processes inherit; libc's is what oneDNN reads (on Windows they are one).
        Environment.SetEnvironmentVariable(name, value);
        if (OperatingSystem.IsWindows()) return;
        try
        {
            if (SetEnv(name, value, 1) != 0) throw new InvalidOperationException($"setenv({name}) failed");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc to call: the known-answer check decides whether the network is right.
        }
    }
}

using System.Runtime.Intrinsics.X86;

namespace Malunet.Native;

/// <summary>
/// The processor's name and the vector instruction sets that decide which kernels libtorch and ONNX Runtime run
/// (SSE4.1 up to AVX-512 and AMX), for the known-answer check's refusal and <c>malunet doctor</c>.
/// </summary>
internal static class CpuFeatures
{
    private static readonly Lazy<(string Model, string[] Flags)> info = new(Read);

    /// <summary>The processor's model name, e.g. "AMD EPYC 9R14 96-Core Processor".</summary>
    public static string Model => info.Value.Model;

    /// <summary>The vector-ISA flags, as /proc/cpuinfo names them (sse4_1, avx2, avx512f, avx512_vnni, amx_tile, ...).</summary>
    public static IReadOnlyList<string> VectorFlags => info.Value.Flags;

    /// <summary>Whether the processor has AVX-512 (the kernels that computed wrong convolutions in libtorch 2.10's oneDNN).</summary>
    public static bool HasAvx512 => VectorFlags.Contains("avx512f");

    /// <summary>One line: model and the widest vector ISA, e.g. "AMD EPYC 9R14 (AVX-512: avx512f avx512bw ...)".</summary>
    public static string Summary
    {
        get
        {
            var widest = HasAvx512 ? "AVX-512" : VectorFlags.Contains("avx2") ? "AVX2" : VectorFlags.Contains("avx") ? "AVX" : "SSE";
            return $"{Model} ({widest}: {string.Join(' ', VectorFlags)})";
        }
    }

    private static bool IsVectorFlag(string f) =>
        f is "sse4_1" or "sse4_2" or "avx" or "avx2" or "fma" or "f16c" or "avx_vnni"
        || f.StartsWith("avx512", StringComparison.Ordinal) || f.StartsWith("amx", StringComparison.Ordinal)
        || f.StartsWith("avx10", StringComparison.Ordinal);

    private static (string, string[]) Read()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
            {
                string model = "unknown processor";
                string[] flags = [];
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                {
                    var colon = line.IndexOf(':');
                    if (colon < 0) continue;
                    var key = line[..colon].Trim();
                    if (key == "model name") model = line[(colon + 1)..].Trim();
                    else if (key == "flags") flags = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(IsVectorFlag).ToArray();
                    if (key.Length == 0 && flags.Length > 0) break; // the first processor's block is enough
                }
                if (flags.Length > 0) return (model, flags);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        // Elsewhere: what the .NET runtime detects.
        var detected = new List<string>();
        if (Sse41.IsSupported) detected.Add("sse4_1");
        if (Avx.IsSupported) detected.Add("avx");
        if (Avx2.IsSupported) detected.Add("avx2");
        if (Fma.IsSupported) detected.Add("fma");
        if (Avx512F.IsSupported) detected.Add("avx512f");
        if (Avx512BW.IsSupported) detected.Add("avx512bw");
        if (Avx512DQ.IsSupported) detected.Add("avx512dq");
        if (Avx512F.VL.IsSupported) detected.Add("avx512vl");
        return (System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString(), detected.ToArray());
    }
}

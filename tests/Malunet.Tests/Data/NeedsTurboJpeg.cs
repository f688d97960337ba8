using Malunet.Native;

namespace Malunet.Tests.Data;

/// <summary>
/// Tests of the optional system TurboJPEG: skipped, with the reason, where libturbojpeg.so.0 is not installed
/// (the library then decodes with SkiaSharp, which other tests cover); .ci/run installs it, so CI runs them.
/// </summary>
internal static class NeedsTurboJpeg
{
    public static string? SkipReason => TurboJpeg.Available ? null : "libturbojpeg.so.0 is not installed (optional: apt-get install libturbojpeg0, as .ci/run does)";
}

/// <summary>A fact that needs the system TurboJPEG (<see cref="NeedsTurboJpeg"/>).</summary>
public sealed class TurboJpegFactAttribute : FactAttribute
{
    public TurboJpegFactAttribute() { Skip = NeedsTurboJpeg.SkipReason; }
}

/// <summary>A theory that needs the system TurboJPEG (<see cref="NeedsTurboJpeg"/>).</summary>
public sealed class TurboJpegTheoryAttribute : TheoryAttribute
{
    public TurboJpegTheoryAttribute() { Skip = NeedsTurboJpeg.SkipReason; }
}

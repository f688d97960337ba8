using System.Runtime.CompilerServices;
using Malunet.Native;

namespace Malunet.Tests;

/// <summary>The test process loads libtorch as every program of ours does: oneDNN capped, NNPACK quiet.</summary>
internal static class TestProcess
{
#pragma warning disable CA2255 // the test assembly is the application here
    [ModuleInitializer]
    internal static void LoadLibtorchAsThePrograms() => TorchRuntime.EnsureLoaded();
#pragma warning restore CA2255
}

using System.Runtime.InteropServices;

namespace Malunet.Native;

/// <summary>
/// Whether a path (after its links) is a regular file: a link named <c>zero.png</c> to <c>/dev/zero</c>, a FIFO or a
/// socket in an input folder must be refused unread, and .NET reports devices as ordinary files. Linux x64 and arm64
/// ask libc's <c>stat</c>; elsewhere every existing file counts as regular.
/// </summary>
internal static class RegularFile
{
    private const uint TypeMask = 0xF000, Regular = 0x8000; // S_IFMT, S_IFREG

    [DllImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static extern unsafe int Stat(string path, byte* buffer);

    /// <summary>True for a regular file; false for a directory, device, FIFO or socket, or a path that does not exist.</summary>
    public static bool Is(string path)
    {
        if (!File.Exists(path)) return false;
        if (!OperatingSystem.IsLinux()) return true;
        // Where st_mode lies in struct stat: after st_dev, st_ino, st_nlink on x86-64; after st_dev, st_ino on the
        // generic layout of arm64.
        int modeOffset = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 24,
            Architecture.Arm64 => 16,
            _ => -1,
        };
        if (modeOffset < 0) return true;
        try
        {
            unsafe
            {
                byte* buffer = stackalloc byte[256];
                if (Stat(path, buffer) != 0) return false;
                uint mode = *(uint*)(buffer + modeOffset);
                return (mode & TypeMask) == Regular;
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return true; // an older libc without a plain stat export: nothing more to learn
        }
    }
}

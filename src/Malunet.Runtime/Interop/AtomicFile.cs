using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Malunet.Interop;

/// <summary>
/// Writes a file through a temporary sibling that is flushed to disk and then renamed over the target, so a
/// crash or Ctrl-C never leaves a half-written checkpoint or output behind.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/> into a temporary file beside it, flushed to disk, then renamed over it: readers see the old file or the whole new one, never a part.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch { /* the original error matters more */ }
            throw;
        }
    }

    /// <summary>
    /// Starts writing what <paramref name="s"/> holds so far to disk without waiting for it (Linux), so that a long
    /// stream's final flush to disk finds little left to do: the disk writes while the program computes the rest.
    /// Elsewhere, or for other streams, nothing happens.
    /// </summary>
    public static void StartWriteback(Stream s)
    {
        if (s is not FileStream fs || !OperatingSystem.IsLinux()) return;
        fs.Flush();
        try { SyncFileRange(fs.SafeFileHandle, 0, 0, SyncFileRangeWrite); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { /* not glibc: the final flush does it all */ }
    }

    private const uint SyncFileRangeWrite = 2;

    [DllImport("libc", EntryPoint = "sync_file_range", SetLastError = true)]
    private static extern int SyncFileRange(SafeFileHandle fd, long offset, long nbytes, uint flags);

    /// <summary>Writes text (UTF-8) as <see cref="Write"/> does.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });

    /// <summary>Writes bytes as <see cref="Write"/> does.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));
}

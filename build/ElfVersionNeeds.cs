// Marks an unmet, harmless GLIBCXX version requirement of a native library as weak (VER_FLG_WEAK), so that
// the dynamic linker loads the library on a system whose libstdc++ is older than the one it was linked with.
//
// Why: TorchSharp 0.107's libLibTorchSharp.so was linked against GCC 13's libstdc++ and asks for version
// GLIBCXX_3.4.32. Debian 12 ships GCC 12's libstdc++ (up to GLIBCXX_3.4.30), so dlopen fails. The only symbol
// bound to that version is std::ios_base_library_init(), a link-time marker that is never called, so a weak
// requirement is safe: ld.so then only warns (and only with LD_DEBUG) instead of refusing to load.
//
// This one file is compiled twice: by MSBuild's RoslynCodeTaskFactory as the build task
// PatchWeakGlibcxxRequirement (see Directory.Build.targets), and into the Malunet library (MALUNET_LIBRARY is
// defined there) for the start-up check and its tests. It therefore uses nothing but the BCL.
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace Malunet.Native
{
    /// <summary>What <see cref="ElfVersionNeeds.EnsureLoadable"/> found or did.</summary>
    public enum WeakPatchOutcome
    {
        /// <summary>The library does not ask for the version at all.</summary>
        NotRequired,
        /// <summary>The system's libstdc++ defines the version: nothing to do.</summary>
        SystemHasVersion,
        /// <summary>The requirement is already weak (an earlier run patched it).</summary>
        AlreadyWeak,
        /// <summary>The requirement was marked weak now.</summary>
        Patched,
        /// <summary>No system libstdc++ was found, so nothing can be decided; the file is left alone.</summary>
        SystemLibraryNotFound,
    }

    /// <summary>One entry of an ELF file's <c>.gnu.version_r</c> section: a version needed from a library.</summary>
    public sealed class VersionRequirement
    {
        /// <summary>One <c>Vernaux</c> entry as read from the file.</summary>
        public VersionRequirement(string file, string version, ushort flags, ushort index, long flagsOffset)
        {
            File = file; Version = version; Flags = flags; Index = index; FlagsOffset = flagsOffset;
        }
        /// <summary>The needed library's soname, e.g. <c>libstdc++.so.6</c>.</summary>
        public string File { get; }
        /// <summary>The version name, e.g. <c>GLIBCXX_3.4.32</c>.</summary>
        public string Version { get; }
        /// <summary><c>vna_flags</c>; bit 0x2 is VER_FLG_WEAK.</summary>
        public ushort Flags { get; }
        /// <summary><c>vna_other</c>: the version index that symbols use in <c>.gnu.version</c>.</summary>
        public ushort Index { get; }
        /// <summary>File offset of <c>vna_flags</c>.</summary>
        public long FlagsOffset { get; }
        /// <summary>Whether the requirement is weak: the loader then accepts a library without the version.</summary>
        public bool IsWeak => (Flags & ElfVersionNeeds.VerFlagWeak) != 0;
    }

    /// <summary>Reads and edits the symbol-version tables of 64-bit little-endian ELF files.</summary>
    public static class ElfVersionNeeds
    {
        /// <summary>VER_FLG_WEAK.</summary>
        public const ushort VerFlagWeak = 0x2;
        /// <summary>TorchSharp's native shim, the file patched.</summary>
        public const string TorchSharpNative = "libLibTorchSharp.so";
        /// <summary>The version requirement made weak.</summary>
        public const string GlibcxxMarkerVersion = "GLIBCXX_3.4.32";
        /// <summary>The library that version belongs to.</summary>
        public const string StdCxxSoname = "libstdc++.so.6";
        /// <summary>The only symbol libLibTorchSharp.so binds to GLIBCXX_3.4.32: std::ios_base_library_init().</summary>
        public const string MarkerSymbol = "_ZSt21ios_base_library_initv";

        const uint ShtDynsym = 11, ShtGnuVerdef = 0x6ffffffd, ShtGnuVerneed = 0x6ffffffe, ShtGnuVersym = 0x6fffffff;

        sealed class Section
        {
            public uint Type; public long Offset; public long Size; public uint Link; public uint Info; public long EntSize;
        }

        static List<Section> ReadSections(byte[] f)
        {
            if (f.Length < 64 || f[0] != 0x7f || f[1] != (byte)'E' || f[2] != (byte)'L' || f[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (f[4] != 2 || f[5] != 1)
                throw new InvalidDataException("only 64-bit little-endian ELF files are supported");
            long shoff = BitConverter.ToInt64(f, 0x28);
            int shentsize = BitConverter.ToUInt16(f, 0x3A), shnum = BitConverter.ToUInt16(f, 0x3C);
            var list = new List<Section>(shnum);
            for (int i = 0; i < shnum; i++)
            {
                long o = shoff + (long)i * shentsize;
                if (o + 64 > f.Length) throw new InvalidDataException("truncated section header table");
                list.Add(new Section
                {
                    Type = BitConverter.ToUInt32(f, (int)o + 4),
                    Offset = BitConverter.ToInt64(f, (int)o + 0x18),
                    Size = BitConverter.ToInt64(f, (int)o + 0x20),
                    Link = BitConverter.ToUInt32(f, (int)o + 0x28),
                    Info = BitConverter.ToUInt32(f, (int)o + 0x2C),
                    EntSize = BitConverter.ToInt64(f, (int)o + 0x38),
                });
            }
            return list;
        }

        static string CString(byte[] f, long offset)
        {
            int end = (int)offset;
            while (end < f.Length && f[end] != 0) end++;
            return Encoding.ASCII.GetString(f, (int)offset, end - (int)offset);
        }

        /// <summary>All version requirements (<c>.gnu.version_r</c>) of an ELF image.</summary>
        public static List<VersionRequirement> ReadRequirements(byte[] f)
        {
            var sections = ReadSections(f);
            var result = new List<VersionRequirement>();
            foreach (var s in sections.Where(s => s.Type == ShtGnuVerneed))
            {
                long strtab = sections[(int)s.Link].Offset;
                long vn = s.Offset;
                for (uint i = 0; i < s.Info; i++)
                {
                    ushort cnt = BitConverter.ToUInt16(f, (int)vn + 2);
                    string file = CString(f, strtab + BitConverter.ToUInt32(f, (int)vn + 4));
                    long aux = vn + BitConverter.ToUInt32(f, (int)vn + 8);
                    for (int j = 0; j < cnt; j++)
                    {
                        ushort flags = BitConverter.ToUInt16(f, (int)aux + 4);
                        ushort other = BitConverter.ToUInt16(f, (int)aux + 6);
                        string name = CString(f, strtab + BitConverter.ToUInt32(f, (int)aux + 8));
                        result.Add(new VersionRequirement(file, name, flags, other, aux + 4));
                        uint next = BitConverter.ToUInt32(f, (int)aux + 12);
                        if (next == 0) break;
                        aux += next;
                    }
                    uint vnNext = BitConverter.ToUInt32(f, (int)vn + 12);
                    if (vnNext == 0) break;
                    vn += vnNext;
                }
            }
            return result;
        }

        /// <summary>All version names an ELF image defines (<c>.gnu.version_d</c>), e.g. a libstdc++'s GLIBCXX_*.</summary>
        public static HashSet<string> ReadDefinitions(byte[] f)
        {
            var sections = ReadSections(f);
            var result = new HashSet<string>(StringComparer.Ordinal);
            foreach (var s in sections.Where(s => s.Type == ShtGnuVerdef))
            {
                long strtab = sections[(int)s.Link].Offset;
                long vd = s.Offset;
                for (uint i = 0; i < s.Info; i++)
                {
                    long aux = vd + BitConverter.ToUInt32(f, (int)vd + 12);
                    result.Add(CString(f, strtab + BitConverter.ToUInt32(f, (int)aux)));
                    uint next = BitConverter.ToUInt32(f, (int)vd + 16);
                    if (next == 0) break;
                    vd += next;
                }
            }
            return result;
        }

        /// <summary>Names of the dynamic symbols bound to version index <paramref name="index"/>.</summary>
        public static List<string> SymbolsWithVersionIndex(byte[] f, ushort index)
        {
            var sections = ReadSections(f);
            var dynsym = sections.FirstOrDefault(s => s.Type == ShtDynsym);
            var versym = sections.FirstOrDefault(s => s.Type == ShtGnuVersym);
            var names = new List<string>();
            if (dynsym == null || versym == null) return names;
            long strtab = sections[(int)dynsym.Link].Offset;
            long count = dynsym.Size / 24;
            for (long i = 0; i < count; i++)
            {
                ushort v = (ushort)(BitConverter.ToUInt16(f, (int)(versym.Offset + 2 * i)) & 0x7fff);
                if (v != index) continue;
                names.Add(CString(f, strtab + BitConverter.ToUInt32(f, (int)(dynsym.Offset + 24 * i))));
            }
            return names;
        }

        /// <summary>
        /// The libstdc++ the dynamic linker would load: the first x86-64 entry of <c>ldconfig -p</c>, else the
        /// usual Debian/Fedora locations. Null if none exists.
        /// </summary>
        public static string? FindSystemLibrary(string soname = StdCxxSoname)
        {
            foreach (var ldconfig in new[] { "/sbin/ldconfig", "/usr/sbin/ldconfig" })
            {
                if (!File.Exists(ldconfig)) continue;
                try
                {
                    var psi = new ProcessStartInfo(ldconfig, "-p") { RedirectStandardOutput = true, UseShellExecute = false };
                    using var p = Process.Start(psi)!;
                    string output = p.StandardOutput.ReadToEnd();
                    p.WaitForExit();
                    foreach (var line in output.Split('\n'))
                    {
                        var t = line.Trim();
                        if (!t.StartsWith(soname + " ", StringComparison.Ordinal) || !t.Contains("x86-64")) continue;
                        int arrow = t.IndexOf("=> ", StringComparison.Ordinal);
                        if (arrow > 0 && File.Exists(t.Substring(arrow + 3).Trim())) return t.Substring(arrow + 3).Trim();
                    }
                }
                catch (Exception) { /* fall back to the usual paths */ }
                break;
            }
            foreach (var dir in new[] { "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib" })
            {
                var p = Path.Combine(dir, soname);
                if (File.Exists(p)) return p;
            }
            return null;
        }

        /// <summary>
        /// The libstdc++ versions <paramref name="libraryPath"/> requires strongly that the system's libstdc++
        /// (<paramref name="systemLibrary"/>, found if null) does not define: the reasons the loader would refuse it
        /// here. Empty when it loads (also when no system libstdc++ is found: nothing to compare with).
        /// </summary>
        public static List<string> UnmetRequirements(string libraryPath, string? systemLibrary = null)
        {
            systemLibrary ??= FindSystemLibrary();
            if (systemLibrary == null) return new List<string>();
            var defined = ReadDefinitions(File.ReadAllBytes(systemLibrary));
            return ReadRequirements(File.ReadAllBytes(libraryPath))
                .Where(r => r.File == StdCxxSoname && !r.IsWeak && !defined.Contains(r.Version))
                .Select(r => r.Version).ToList();
        }

        /// <summary>
        /// Makes <paramref name="libraryPath"/> loadable here: if it needs <paramref name="version"/> of libstdc++
        /// (strongly) and the system's libstdc++ (<paramref name="systemLibrary"/>, found if null) lacks it, the
        /// requirement's <c>vna_flags</c> gets VER_FLG_WEAK. Idempotent. Refuses (throws) when any symbol other than
        /// the known never-called marker is bound to that version, because a weak requirement would then hide a real
        /// missing function. The file is replaced through a temporary file, so a hard link into the NuGet cache is
        /// never edited in place.
        /// </summary>
        public static WeakPatchOutcome EnsureLoadable(string libraryPath, string version = GlibcxxMarkerVersion,
                                                      string? systemLibrary = null)
        {
            byte[] f = File.ReadAllBytes(libraryPath);
            var req = ReadRequirements(f).FirstOrDefault(r => r.File == StdCxxSoname && r.Version == version);
            if (req == null) return WeakPatchOutcome.NotRequired;
            if (req.IsWeak) return WeakPatchOutcome.AlreadyWeak;
            systemLibrary ??= FindSystemLibrary();
            if (systemLibrary == null) return WeakPatchOutcome.SystemLibraryNotFound;
            if (ReadDefinitions(File.ReadAllBytes(systemLibrary)).Contains(version)) return WeakPatchOutcome.SystemHasVersion;

            var bound = SymbolsWithVersionIndex(f, req.Index);
            var unexpected = bound.Where(s => s != MarkerSymbol).ToList();
            if (unexpected.Count > 0)
                throw new InvalidOperationException(
                    $"{libraryPath}: {version} is needed by {string.Join(", ", unexpected)}, not only by the marker " +
                    $"{MarkerSymbol}; marking it weak would hide a missing function. Install a libstdc++ that defines {version}.");

            ushort flags = (ushort)(req.Flags | VerFlagWeak);
            f[req.FlagsOffset] = (byte)(flags & 0xff);
            f[req.FlagsOffset + 1] = (byte)(flags >> 8);
            string tmp = libraryPath + ".weak-glibcxx.tmp";
            File.WriteAllBytes(tmp, f);
            File.Replace(tmp, libraryPath, null); // a rename: never writes through a hard link

            return WeakPatchOutcome.Patched;
        }
    }
}

#if !MALUNET_LIBRARY
namespace Malunet.Build
{
    using Microsoft.Build.Framework;
    using Microsoft.Build.Utilities;

    /// <summary>MSBuild task: runs <see cref="Malunet.Native.ElfVersionNeeds.EnsureLoadable"/> on each file given.</summary>
    public class PatchWeakGlibcxxRequirement : Task
    {
        [Required] public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

        public override bool Execute()
        {
            foreach (var item in Files)
            {
                string path = item.GetMetadata("FullPath");
                try
                {
                    var outcome = Malunet.Native.ElfVersionNeeds.EnsureLoadable(path);
                    var importance = outcome == Malunet.Native.WeakPatchOutcome.Patched ? MessageImportance.High : MessageImportance.Low;
                    Log.LogMessage(importance, $"{path}: {Malunet.Native.ElfVersionNeeds.GlibcxxMarkerVersion} requirement: {outcome}");
                }
                catch (Exception e)
                {
                    Log.LogError($"{path}: cannot mark {Malunet.Native.ElfVersionNeeds.GlibcxxMarkerVersion} weak: {e.Message}");
                }
            }
            return !Log.HasLoggedErrors;
        }
    }
}
#endif

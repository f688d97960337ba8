namespace Malunet.Tests;

/// <summary>A test class with its own temporary folder (<see cref="dir"/>), deleted afterwards.</summary>
public abstract class TempFolderTest : IDisposable
{
    protected readonly string dir = Directory.CreateTempSubdirectory("malunet-test-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(dir, true); } catch (IOException) { /* a child process may still hold a file */ }
        GC.SuppressFinalize(this);
    }
}

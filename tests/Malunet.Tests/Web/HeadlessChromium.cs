using Microsoft.Playwright;

namespace Malunet.Tests.Web;

/// <summary>Debian's Chromium driven by Playwright, for the tests of the page; screenshots go to <c>artifacts/</c>.</summary>
public static class HeadlessChromium
{
    /// <summary>Debian's Chromium; $MALUNET_CHROMIUM overrides. Missing is a failure: .ci/run installs it.</summary>
    public static string ExecutablePath()
    {
        var path = Environment.GetEnvironmentVariable("MALUNET_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";
        Assert.True(File.Exists(path), $"{path} not found: install Debian's chromium (apt-get install chromium), as .ci/run does");
        return path;
    }

    public static Task<IBrowser> LaunchAsync(IPlaywright playwright) => playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
    {
        ExecutablePath = ExecutablePath(),
        Headless = true,
        Args = new[] { "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage" },
    });

    /// <summary>The window the page tests and their screenshots use.</summary>
    public static ViewportSize Viewport => new() { Width = 1360, Height = 1100 };

    /// <summary>The page's console errors and uncaught exceptions from now on (a test ends by asserting there are none).</summary>
    public static List<string> CollectErrors(IPage page)
    {
        var errors = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") lock (errors) errors.Add(m.Text); };
        page.PageError += (_, e) => { lock (errors) errors.Add(e); };
        return errors;
    }

    /// <summary>A path under the repository's <c>artifacts/</c> folder (kept after the tests, ignored by git).</summary>
    public static string ArtifactPath(string name)
    {
        var folder = Path.Combine(SharedData.Repository, "artifacts");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }
}

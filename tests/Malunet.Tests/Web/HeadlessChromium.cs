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

    /// <summary>A path under the repository's <c>artifacts/</c> folder (kept after the tests, ignored by git).</summary>
    public static string ArtifactPath(string name)
    {
        var folder = Path.Combine(SharedData.Repository, "artifacts");
        Directory.CreateDirectory(folder);
        return Path.Combine(folder, name);
    }
}

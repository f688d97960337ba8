using System.Diagnostics;

namespace Malunet.Tests.Cli;

/// <summary>Runs the real <c>malunet</c> program (the built Malunet.Cli.dll) in a child process.</summary>
public static class CliRunner
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Result Run(params string[] args) => RunIn(null, args);

    public static Result RunIn(string? workingDirectory, params string[] args) =>
        RunDll(Path.Combine(AppContext.BaseDirectory, "Malunet.Cli.dll"), workingDirectory, null, args);

    /// <summary>
    /// Runs <c>dotnet DLL args</c> (the CLI, or the test assembly's own <see cref="ChildTestRunner"/>), with
    /// <paramref name="environment"/>'s variables set (a null value removes one).
    /// </summary>
    public static Result RunDll(string dll, string? workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        Assert.True(File.Exists(dll), $"{dll} missing");
        return RunProgram("dotnet", workingDirectory, environment, [dll, .. args]);
    }

    /// <summary>Runs any program (<c>dotnet pack</c>, an installed tool) the same way, waiting at most 10 minutes.</summary>
    public static Result RunProgram(string program, string? workingDirectory, IReadOnlyDictionary<string, string?>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (workingDirectory != null) psi.WorkingDirectory = workingDirectory;
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["MALUNET_DEBUG"] = "0";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
            if (value == null) psi.Environment.Remove(name); else psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10))) { p.Kill(true); throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish"); }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}

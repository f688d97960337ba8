using System.Reflection;
using Xunit.Abstractions;

namespace Malunet.Tests;

/// <summary>
/// The test assembly's entry point (the Test SDK's empty one is switched off): <c>dotnet Malunet.Tests.dll --run
/// Namespace.Class.Method ...</c> runs those tests in this process, every row of a theory, and exits 1 if any fails.
/// Tests use it to run golden tests in child processes whose environment differs (e.g. <c>ONEDNN_MAX_CPU_ISA</c>,
/// which oneDNN reads once per process). It prints one line per test and the oneDNN cap the process ran with.
/// </summary>
public static class ChildTestRunner
{
    public static int Main(string[] args)
    {
        if (args.Length < 2 || args[0] != "--run")
        {
            Console.Error.WriteLine("usage: dotnet Malunet.Tests.dll --run Namespace.Class.Method [...]");
            return 2;
        }
        Malunet.Native.OneDnnIsa.Apply();
        Console.WriteLine($"oneDNN cap: {Malunet.Native.OneDnnIsa.Effective}");
        int failed = 0;
        foreach (var name in args.Skip(1))
        {
            int dot = name.LastIndexOf('.');
            var type = typeof(ChildTestRunner).Assembly.GetType(name[..dot]) ?? throw new ArgumentException($"no test class {name[..dot]}");
            var method = type.GetMethod(name[(dot + 1)..]) ?? throw new ArgumentException($"no test method {name}");
            foreach (var row in Rows(type, method))
            {
                var label = row.Length == 0 ? name : $"{name}({string.Join(", ", row)})";
                try
                {
                    var ctor = type.GetConstructors().Single();
                    var instance = ctor.Invoke(ctor.GetParameters().Select(p => p.ParameterType == typeof(ITestOutputHelper) ? new ConsoleOutput() : null).ToArray());
                    try { method.Invoke(instance, row); }
                    finally { (instance as IDisposable)?.Dispose(); }
                    Console.WriteLine($"ok   {label}");
                }
                catch (TargetInvocationException e)
                {
                    failed++;
                    Console.WriteLine($"FAIL {label}: {e.InnerException?.Message.ReplaceLineEndings(" | ")}");
                }
            }
        }
        return failed == 0 ? 0 : 1;
    }

    /// <summary>The argument rows of a test: none for a fact, each InlineData or MemberData row for a theory.</summary>
    private static IEnumerable<object?[]> Rows(Type type, MethodInfo method)
    {
        var inline = method.GetCustomAttributes<InlineDataAttribute>().Select(a => a.GetData(method).Single()).ToList();
        var member = method.GetCustomAttributes<MemberDataAttribute>()
            .SelectMany(a => (IEnumerable<object[]>)type.GetMethod(a.MemberName, BindingFlags.Public | BindingFlags.Static)!.Invoke(null, null)!).ToList();
        return inline.Count + member.Count == 0 ? [Array.Empty<object?>()] : inline.Concat(member);
    }

    private sealed class ConsoleOutput : ITestOutputHelper
    {
        public void WriteLine(string message) => Console.WriteLine($"     {message}");
        public void WriteLine(string format, params object[] args) => Console.WriteLine("     " + format, args);
    }
}

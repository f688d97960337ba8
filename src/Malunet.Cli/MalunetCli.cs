using System.CommandLine;
using Malunet.Cli.Commands;
using Malunet.Native;

namespace Malunet.Cli;

/// <summary>The <c>malunet</c> command: verbs as nnU-Net's (train, predict, evaluate, export), plus info and bench.</summary>
public static class MalunetCli
{
    public static Command Build()
    {
        // A plain command named for what users type: a RootCommand takes its name from the assembly (Malunet.Cli),
        // which every usage line would then show. It brings --help and --version as RootCommand does.
        var root = new Command("malunet", "malunet: MALUNet skin-lesion segmentation (Ruan et al., BIBM 2022): " +
                                          "train, evaluate, predict, export, serve.")
        {
            Options = { new System.CommandLine.Help.HelpOption(), new VersionOption() },
        };
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(TrainCommand.Create());
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(EvaluateCommand.Create());
        root.Subcommands.Add(PredictCommand.Create());
        root.Subcommands.Add(ExportCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(ServeCommand.Create());
        root.Subcommands.Add(AblateCommand.Create());
        root.Subcommands.Add(DoctorCommand.Create());
        return root;
    }

    public static int Run(string[] args)
    {
        var root = Build();
        // A bare `malunet` shows the verbs rather than only "Required command was not provided."
        var parse = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (parse.Errors.Count > 0)
        {
            Console.Error.WriteLine($"malunet: error: {string.Join("; ", parse.Errors.Select(e => Plain(e.Message)))}");
            return 2;
        }
        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception e)
        {
            return Report(e);
        }
    }

    /// <summary>An option's value for a validator, or null when it did not parse (the parser reports that itself).</summary>
    public static T? ParsedValue<T>(System.CommandLine.Parsing.OptionResult result) where T : struct
    {
        try { return result.GetValueOrDefault<T>(); }
        catch (InvalidOperationException) { return null; }
    }

    /// <summary>The parser's words for a value of the wrong type, without .NET type names, on one line.</summary>
    private static string Plain(string message) =>
        System.Text.RegularExpressions.Regex.Replace(string.Join(", ", message.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Replace(":,", ":"), @"as expected type '([^']+)'", m => m.Groups[1].Value switch
        {
            var t when t.Contains("Int32") || t.Contains("Int64") => "as a whole number",
            var t when t.Contains("Double") || t.Contains("Single") => "as a number",
            var t when t.Contains("Boolean") => "as true or false",
            _ => "as a value of the right kind",
        });

    /// <summary>
    /// One line on stderr; 2 for usage errors, 3 when an engine fails its known answers (no output of it may be used),
    /// 130 for Ctrl-C, 1 for everything else.
    /// </summary>
    public static int Report(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } single) e = single.InnerException!;
        switch (e)
        {
            case Inference.KnownAnswerException:
                Console.Error.WriteLine($"malunet: error: {e.Message}");
                return 3;
            case UsageException:
                Console.Error.WriteLine($"malunet: error: {e.Message}");
                return 2;
            case OperationCanceledException:
                Console.Error.WriteLine("malunet: cancelled");
                return 130;
            case InvalidOptionException:
                Console.Error.WriteLine($"malunet: error: {UsageException.Describe(e)}");
                return 2;
            case Training.DataProblemsException:
                Console.Error.WriteLine($"malunet: error: {e.Message} (--skip-bad)");
                return 1;
            case FileNotFoundException or DirectoryNotFoundException or InvalidDataException or NativeLibraryException
                or IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException
                or Training.TrainingDivergedException:
                Console.Error.WriteLine($"malunet: error: {e.Message}");
                return 1;
            default:
                Console.Error.WriteLine($"malunet: internal error: {e.GetType().Name}: {e.Message}");
                if (Environment.GetEnvironmentVariable("MALUNET_DEBUG") == "1") Console.Error.WriteLine(e);
                return 1;
        }
    }
}

namespace Malunet.Cli;

/// <summary>A bad flag or flag value: reported on one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message)
{
    /// <summary>A library's complaint about a value, in the command's terms: an option it names gets its dashes.</summary>
    public UsageException(Exception libraryError) : this(Describe(libraryError)) { }

    /// <summary>The one line an error of the library gets on the command line.</summary>
    public static string Describe(Exception e) => e is InvalidOptionException o ? $"--{o.Option} {o.Problem}" : e.Message;
}

namespace Malunet.Cli;

/// <summary>A bad flag or flag value: reported on one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

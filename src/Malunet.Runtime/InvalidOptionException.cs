namespace Malunet;

/// <summary>
/// An option of the library (a recipe, model or segmenter setting) has a value it cannot take. <see cref="Option"/>
/// names it as the command line does, without dashes (<c>epochs</c>, <c>c-list</c>), so that a program can show it
/// in its own terms; the message is "option problem".
/// </summary>
public sealed class InvalidOptionException(string option, string problem) : ArgumentException($"{option} {problem}", option)
{
    /// <summary>The option's name, as the command line spells it without the dashes.</summary>
    public string Option { get; } = option;

    /// <summary>What is wrong with its value.</summary>
    public string Problem { get; } = problem;

    /// <summary>"option problem", without the parameter note ArgumentException would add.</summary>
    public override string Message => $"{Option} {Problem}";
}

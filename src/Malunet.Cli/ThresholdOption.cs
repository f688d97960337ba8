using System.CommandLine;
using Malunet.Evaluation;

namespace Malunet.Cli;

/// <summary>The <c>--threshold</c> option of every verb: a probability in (0, 1), checked while parsing (exit 2).</summary>
public static class ThresholdOption
{
    public static Option<double> Create(string description, double defaultValue = 0.5)
    {
        var option = new Option<double>("--threshold") { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            if (MalunetCli.ParsedValue<double>(result) is { } v && MaskMetrics.ThresholdProblem(v) is { } problem) result.AddError("--threshold " + problem);
        });
        return option;
    }
}

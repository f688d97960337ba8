using Malunet.Models;
using Malunet.Training;
using Malunet.Tests.Cli;

namespace Malunet.Tests.Models;

/// <summary>
/// The library speaks of its options by name, never by command-line flag; the command adds the dashes, so its
/// one-line errors still name the flag to change.
/// </summary>
public class LibraryErrorsTests
{
    public static TheoryData<string, Action> BadValues() => new()
    {
        { "model", () => ModelCatalog.Resolve(new ModelOptions { Model = "nope" }) },
        { "c-list", () => ModelCatalog.Create(new ModelOptions { CList = [8, 16, 24] }) },
        { "split-att", () => ModelOptions.ParseSplitAtt("both") },
        { "epochs", () => new TrainingConfig { Data = "x", Epochs = 0 }.Validate() },
        { "threshold", () => new TrainingConfig { Data = "x", Threshold = 1 }.Validate() },
        { "shard", () => Malunet.Data.Shard.Parse("4/4") },
    };

    [Theory]
    [MemberData(nameof(BadValues))]
    public void A_bad_value_names_its_option_without_flags(string option, Action act)
    {
        var e = Assert.ThrowsAny<ArgumentException>(act);
        Assert.DoesNotContain("--", e.Message);
        if (e is InvalidOptionException named) Assert.Equal(option, named.Option);
        else Assert.Contains(option.Replace('-', ' '), e.Message.Replace('-', ' '));
    }

    [Fact]
    public void The_command_gives_the_option_its_dashes()
    {
        var r = CliRunner.Run("info", "--c-list", "8,16,24");
        Assert.Equal(2, r.ExitCode);
        Assert.StartsWith("malunet: error: --c-list needs 6 widths", r.Stderr.Trim());
    }
}

namespace Malunet.Tests.Cli;

/// <summary>What a newcomer types wrong in the first hour: one line and exit 2, never a stack trace or a .NET type name.</summary>
public class FirstHourCliTests
{
    [Theory]
    [InlineData("predict --threshold abc --input x --output y", "'--threshold' as a number")]
    [InlineData("serve --threshold abc", "'--threshold' as a number")]
    [InlineData("train --epochs abc --data x", "'--epochs' as a whole number")]
    [InlineData("predict --max-megapixels -3 --input x --output y", "--max-megapixels must be a positive number")]
    [InlineData("evaluate --max-megapixels abc --data x", "'--max-megapixels' as a number")]
    [InlineData("predict --engine tf --input x --output y", "Must be one of: 'onnx', 'torch'")]
    [InlineData("predict --trained-on isic2019 --input x --output y", "Must be one of: 'isic2017', 'isic2018'")]
    public void A_value_of_the_wrong_kind_is_one_line_and_exit_2(string command, string expected)
    {
        var r = CliRunner.Run(command.Split(' '));
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.StartsWith("malunet: error: ", line);
        Assert.Contains(expected, line);
        Assert.DoesNotContain("System.", line);
    }

    [Fact]
    public void A_bare_malunet_lists_the_verbs()
    {
        var r = CliRunner.Run();
        Assert.Equal(0, r.ExitCode);
        foreach (var verb in new[] { "train", "evaluate", "predict", "export", "serve", "doctor" })
            Assert.Contains($"  {verb} ", r.Stdout);
    }

    [Fact]
    public void Help_says_what_each_option_takes()
    {
        Assert.Contains("--bridge <true|false>", CliRunner.Run("info", "--help").Stdout);
        var ablate = CliRunner.Run("ablate", "--help").Stdout;
        Assert.DoesNotContain("--split-ratio", ablate); // ablate has no such option
        Assert.Contains("$MALUNET_CACHE", ablate);
        Assert.Contains("$XDG_CACHE_HOME", CliRunner.Run("train", "--help").Stdout);
    }

    [Fact]
    public void Usage_lines_name_the_command_users_type()
    {
        foreach (var verb in new[] { "train", "evaluate", "predict", "serve" })
        {
            var help = CliRunner.Run(verb, "--help").Stdout;
            Assert.Contains($"malunet {verb} [options]", help);
            Assert.DoesNotContain("Malunet.Cli", help);
        }
    }

    [Fact]
    public void A_missing_input_is_one_line_naming_it_and_exit_1()
    {
        var missing = Path.Combine(Path.GetTempPath(), "malunet-no-such-folder", "photos");
        var r = CliRunner.Run("predict", "--input", missing, "--output", Path.Combine(Path.GetTempPath(), "malunet-never-written"));
        Assert.Equal(1, r.ExitCode);
        Assert.Equal($"malunet: error: {missing}: no such file or folder", r.Stderr.Trim());
    }
}

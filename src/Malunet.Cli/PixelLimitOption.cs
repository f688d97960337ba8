using System.CommandLine;
using Malunet.Data;

namespace Malunet.Cli;

/// <summary>
/// <c>--max-megapixels</c> of every verb that reads images (predict, evaluate, train, serve): the decoder's one pixel
/// limit (<see cref="ImageDecoder.MaxPixels"/>), checked from each file's header before anything is allocated.
/// </summary>
public static class PixelLimitOption
{
    public static Option<double> Create()
    {
        var option = new Option<double>("--max-megapixels")
        {
            Description = $"Largest image read, in megapixels (width x height as the file's header declares it); larger files are named and skipped",
            DefaultValueFactory = _ => ImageDecoder.DefaultMaxPixels / 1e6,
        };
        option.Validators.Add(result =>
        {
            if (MalunetCli.ParsedValue<double>(result) is { } v && (!(v > 0) || double.IsInfinity(v)))
                result.AddError($"--max-megapixels must be a positive number, got {v}");
        });
        return option;
    }

    /// <summary>Sets the process's pixel limit from the option; returns it in pixels.</summary>
    public static long Apply(ParseResult r, Option<double> option)
    {
        long pixels = (long)Math.Max(1, r.GetValue(option) * 1e6);
        ImageDecoder.MaxPixels = pixels;
        return pixels;
    }
}

namespace Malunet.Models;

/// <summary>
/// Architecture names accepted by <c>--model</c>, their default options, and the factory that builds them.
/// </summary>
public static class ModelCatalog
{
    private sealed record Entry(string Name, string Description, long[] DefaultCList, Func<ModelOptions, SegmentationModel> Build,
                                string[]? Aliases = null, bool MalunetFamily = false);

    private static readonly Entry[] Entries =
    {
        new("malunet", "MALUNet (Ruan et al., BIBM 2022): IEA + DGA stages, SAB+CAB bridge",
            new long[] { 8, 16, 24, 32, 48, 64 }, o => new MalunetModel(o, MalunetArchitecture.Malunet),
            Aliases: new[] { "bu-iea-dga" }, MalunetFamily: true), // the paper's Table V name: IEA before DGA, both bridges
        Ablation(MalunetArchitecture.BasicUNet, "the MALUNet skeleton without attention (paper 'BU'): one 3x3 conv per stage"),
        Ablation(MalunetArchitecture.BuDga, "BU with DGA in place of the 3x3 conv of encoder stages 3-6 and decoder stages 1-4"),
        Ablation(MalunetArchitecture.BuEa, "BU with external attention (EAMLP, 64 memory units) before the deep stages' conv"),
        Ablation(MalunetArchitecture.BuIea, "BU with inverted external attention (4C memory units) before the deep stages' conv"),
        Ablation(MalunetArchitecture.BuCab, "BU with the channel attention bridge only"),
        Ablation(MalunetArchitecture.BuSab, "BU with the spatial attention bridge only"),
        Ablation(MalunetArchitecture.BuDgaIea, "DGA before IEA in the deep stages, both bridges (Table V rows 1-2)"),
        new("unet", "classic UNet (Ronneberger et al., 2015): double conv + BatchNorm + ReLU, concatenated skips",
            new long[] { 32, 64, 128, 256, 512 }, o => new UNet(o)),
        new("unext-s", "UNeXt-S (Valanarasu and Patel, MICCAI 2022): conv stages, then tokenized shifted-MLP stages",
            new long[] { 8, 16, 32, 64, 128 }, o => new UNeXt(o)),
        new("egeunet", "EGE-UNet (Ruan et al., MICCAI 2023): GHPA stages, group aggregation bridges, deep supervision",
            new long[] { 8, 16, 24, 32, 48, 64 }, o => new EgeUNet(o)),
    };

    private static Entry Ablation(MalunetArchitecture a, string description) =>
        new(a.Name, description, new long[] { 8, 16, 24, 32, 48, 64 }, o => new MalunetModel(o, a), MalunetFamily: true);

    /// <summary>
    /// Whether the architecture reads <c>--split-att</c>, <c>--bridge</c> and <c>--bridge-order</c>: MALUNet and its
    /// ablations do; UNet, UNeXt-S and EGE-UNet have no such parts.
    /// </summary>
    public static bool TakesBridgeOptions(string model) => Find(model).MalunetFamily;

    /// <summary>All architecture names with a one-line description.</summary>
    public static IEnumerable<(string Name, string Description)> List() => Entries.Select(e => (e.Name, e.Description));

    private static Entry Find(string name) =>
        Entries.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase)
                                    || (e.Aliases?.Contains(name, StringComparer.OrdinalIgnoreCase) ?? false))
        ?? throw new InvalidOptionException("model", $"'{name}' is not an architecture here; known: {string.Join(", ", Entries.Select(e => e.Name))}");

    /// <summary>Fills in architecture defaults (c_list) and checks the values; throws ArgumentException with a one-line reason.</summary>
    public static ModelOptions Resolve(ModelOptions options)
    {
        var e = Find(options.Model);
        if (options.NumClasses < 1) throw new InvalidOptionException("num-classes", $"must be at least 1, got {options.NumClasses}");
        if (options.InputChannels < 1) throw new InvalidOptionException("input-channels", $"must be at least 1, got {options.InputChannels}");
        return options with { Model = e.Name, CList = options.CList ?? e.DefaultCList };
    }

    /// <summary>Builds the network described by <paramref name="options"/> (on the CPU, freshly initialised).</summary>
    public static SegmentationModel Create(ModelOptions options)
    {
        var resolved = Resolve(options);
        return Find(resolved.Model).Build(resolved);
    }
}

namespace Malunet.Tests;

/// <summary>
/// The test classes that seed libtorch's global generator (<c>manual_seed</c>) and then draw from it, directly or
/// through a model's initialisation. They run in this collection, which xunit runs alone, after the parallel ones:
/// another test class drawing from the same global generator at the same time would make a "seeded" test's numbers
/// depend on the order the tests happened to run in.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SeededRandomness
{
    public const string Name = "seeded libtorch randomness";
}

namespace Malunet;

/// <summary>The smallest rectangle holding every lesion pixel, in the original image's pixels.</summary>
/// <param name="X">Left column.</param>
/// <param name="Y">Top row.</param>
/// <param name="Width">Columns.</param>
/// <param name="Height">Rows.</param>
public sealed record BoundingBox(int X, int Y, int Width, int Height);

using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Malunet.Data;

/// <summary>The random transform of one training sample.</summary>
public sealed record AugmentationDraw(bool HorizontalFlip, bool VerticalFlip, double? RotationDegrees);

/// <summary>
/// The paper's augmentation: horizontal flip (p 0.5), vertical flip (p 0.5), rotation (p 0.5) by an angle drawn
/// uniformly from [0, 360) <b>for every sample</b> (the official code draws a single angle per run, a bug not
/// copied). The image and its mask get the same transform; the rotation fills with 0 as the official
/// <c>TF.rotate</c>, bilinear for the image and nearest for the mask.
/// </summary>
public static class Augmentation
{
    public static AugmentationDraw Draw(Random rng, double flipP = 0.5, double rotateP = 0.5) =>
        new(rng.NextDouble() < flipP, rng.NextDouble() < flipP, rng.NextDouble() < rotateP ? rng.NextDouble() * 360.0 : null);

    /// <summary>Applies per-sample draws to a batch (B x C x H x W images, B x 1 x H x W masks).</summary>
    public static (Tensor Images, Tensor Masks) Apply(Tensor images, Tensor masks, IReadOnlyList<AugmentationDraw> draws)
    {
        using var scope = NewDisposeScope();
        var outImages = new List<Tensor>();
        var outMasks = new List<Tensor>();
        long h = images.shape[2], w = images.shape[3];
        for (int i = 0; i < draws.Count; i++)
        {
            var x = images[i].unsqueeze(0);
            var m = masks[i].unsqueeze(0);
            var d = draws[i];
            if (d.HorizontalFlip) { x = x.flip(3); m = m.flip(3); }
            if (d.VerticalFlip) { x = x.flip(2); m = m.flip(2); }
            if (d.RotationDegrees is { } deg)
            {
                double a = deg * Math.PI / 180.0;
                // Output pixel -> input pixel in normalised coordinates, corrected for the aspect ratio.
                double ar = (double)w / h;
                var theta = tensor(new float[] { (float)Math.Cos(a), (float)(-Math.Sin(a) / ar), 0f, (float)(Math.Sin(a) * ar), (float)Math.Cos(a), 0f })
                            .reshape(1, 2, 3).to(images.device);
                var grid = F.affine_grid(theta, new long[] { 1, x.shape[1], h, w }, align_corners: false);
                x = F.grid_sample(x, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Zeros, align_corners: false);
                m = F.grid_sample(m, grid, GridSampleMode.Nearest, GridSamplePaddingMode.Zeros, align_corners: false);
            }
            outImages.Add(x);
            outMasks.Add(m);
        }
        return (torch.cat(outImages, 0).MoveToOuterDisposeScope(), torch.cat(outMasks, 0).MoveToOuterDisposeScope());
    }
}

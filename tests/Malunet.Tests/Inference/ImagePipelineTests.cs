using Malunet.Data;
using Malunet.Inference;

namespace Malunet.Tests.Inference;

/// <summary>The image pipeline: every item once, in batches in order, bad items reported, any other error thrown as it was.</summary>
public class ImagePipelineTests
{
    private static CachedSample Sample(int i) => new($"s{i}", 1, new byte[3], null, 1, 1, 0, 0, 0);

    [Fact]
    public void Every_good_item_is_finished_once_and_bad_ones_are_reported_while_the_rest_go_on()
    {
        var items = Enumerable.Range(0, 50).ToList();
        var finished = new System.Collections.Concurrent.ConcurrentBag<int>();
        var failed = new List<int>();
        var batches = new List<int[]>();
        ImagePipeline.Run(items, 4,
            i => i % 7 == 3 ? throw new InvalidDataException($"bad{i}.jpg: truncated") : Sample(i),
            b => { batches.Add(b.Select(x => x.Item).ToArray()); return b.Select(x => new float[] { x.Item }).ToList(); },
            (i, s, p) => { Assert.Equal(i, (int)p[0]); if (i == 20) throw new IOException("disk full"); finished.Add(i); },
            (i, e) => failed.Add(i), workers: 2);
        var bad = items.Where(i => i % 7 == 3).Append(20).Order().ToList();
        Assert.Equal(bad, failed.Order());
        Assert.Equal(items.Except(bad), finished.Order());
        Assert.Equal(items.Where(i => i % 7 != 3), batches.SelectMany(b => b)); // the network sees the items in order
    }

    [Fact]
    public void Another_error_in_any_stage_stops_the_pipeline_and_is_thrown_as_it_was()
    {
        var items = Enumerable.Range(0, 200).ToList();
        float[][] Net(IReadOnlyList<(int Item, CachedSample Sample)> b) => b.Select(_ => new float[1]).ToArray();
        Assert.Equal("in finish", Assert.Throws<InvalidOperationException>(() => ImagePipeline.Run(items, 2, Sample, Net,
            (i, s, p) => { if (i == 5) throw new InvalidOperationException("in finish"); }, (i, e) => { }, workers: 2)).Message);
        Assert.Equal("in load", Assert.Throws<InvalidOperationException>(() => ImagePipeline.Run(items, 2,
            i => i == 9 ? throw new InvalidOperationException("in load") : Sample(i), Net, (i, s, p) => { }, (i, e) => { }, workers: 2)).Message);
        Assert.Equal("in the network", Assert.Throws<InvalidOperationException>(() => ImagePipeline.Run(items, 2, Sample,
            b => b[0].Item == 10 ? throw new InvalidOperationException("in the network") : Net(b), (i, s, p) => { }, (i, e) => { }, workers: 2)).Message);
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ImagePipeline.Run(items, 2, Sample, Net, (i, s, p) => { }, (i, e) => { }, cancel: cancel.Token));
    }
}

using System.Collections.Concurrent;
using System.Diagnostics;

namespace Malunet.Inference;

/// <summary>Time spent in each named stage of a pipeline, summed over the threads that ran it.</summary>
internal sealed class StageClock(params string[] stages)
{
    private readonly ConcurrentDictionary<string, long> ticks = new(stages.Select(s => KeyValuePair.Create(s, 0L)));

    /// <summary>A timestamp to pass to <see cref="Add"/>.</summary>
    public static long Start() => Stopwatch.GetTimestamp();

    /// <summary>Adds the time since <paramref name="since"/> to <paramref name="stage"/> and restarts the lap.</summary>
    public void Add(string stage, ref long since)
    {
        long now = Stopwatch.GetTimestamp(), lap = now - since;
        ticks.AddOrUpdate(stage, lap, (_, t) => t + lap);
        since = now;
    }

    /// <summary>The stages in the order they were named.</summary>
    public IReadOnlyDictionary<string, TimeSpan> Totals =>
        stages.ToDictionary(s => s, s => Stopwatch.GetElapsedTime(0, ticks[s]));
}

namespace MaestroSla.MicroBench.Inputs;

/// <summary>A clock that never moves, so that the decoder's accepted window is the same in every run.</summary>
internal sealed class PinnedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}

using MaestroSla.Contracts.Messages;
using MaestroSla.MicroBench.Inputs;

namespace MaestroSla.MicroBench.Decoding;

/// <summary>
/// Many distinct messages per case, decoded in one invocation: one message repeated would measure a branch predictor
/// that has learned it by heart.
/// </summary>
internal static class MessagePool
{
    public const int Size = 1_000;

    public static byte[][] Of(Func<int, string> json)
    {
        var pool = new byte[Size][];
        for (var i = 0; i < Size; i++)
        {
            pool[i] = Traffic.Utf8(json(i));
        }
        return pool;
    }

    public static TelemetryDecoder NewDecoder() => new(new ContractLimits(), new PinnedClock(Traffic.Now));

    public static int DecodeAll(TelemetryDecoder decoder, byte[][] pool)
    {
        var valid = 0;
        foreach (var message in pool)
        {
            if (decoder.Decode(message).IsValid)
            {
                valid++;
            }
        }
        return valid;
    }

    /// <summary>Fails the run if a pool does not take the path its benchmark is named after.</summary>
    public static byte[][] Expect(byte[][] pool, string? reasonStart)
    {
        var decoder = NewDecoder();
        foreach (var message in pool)
        {
            var decoded = decoder.Decode(message);
            var asExpected = reasonStart is null
                ? decoded.IsValid
                : decoded.Error?.StartsWith(reasonStart, StringComparison.Ordinal) == true;
            if (!asExpected)
            {
                throw new InvalidOperationException($"Expected {reasonStart ?? "a valid message"}, got {decoded}");
            }
        }
        return pool;
    }
}

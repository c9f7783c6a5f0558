using System.Diagnostics.CodeAnalysis;

namespace MaestroSla.Contracts.Messages;

/// <summary>
/// Hands out one shared string per distinct service, endpoint or component name, so that the request
/// firehose does not allocate a string per name per message. Not thread-safe.
/// </summary>
internal sealed class NameCache
{
    // Enough for every endpoint of a large fleet; past it a flood of made-up names costs allocations, not memory.
    private const int Capacity = 10_000;

    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _byChars;

    public NameCache() => _byChars = _names.GetAlternateLookup<ReadOnlySpan<char>>();

    public bool TryGet(ReadOnlySpan<char> name, [NotNullWhen(true)] out string? cached) =>
        _byChars.TryGetValue(name, out cached);

    /// <summary>Call only for names already validated: a cached name is trusted without checks.</summary>
    public string Add(ReadOnlySpan<char> name)
    {
        var created = new string(name);
        if (_names.Count < Capacity)
        {
            _names.Add(created);
        }

        return created;
    }
}

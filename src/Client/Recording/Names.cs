using MaestroSla.Contracts.Messages;

namespace MaestroSla.Client.Recording;

/// <summary>
/// MaestroSla refuses a whole HTTP batch for one bad name, so names the app does not choose itself (route templates,
/// health-check names) are made acceptable here: at most the contract's length, no control characters and no '|'.
/// </summary>
internal static class Names
{
    /// <summary>MaestroSla's default Contract:MaxNameLength.</summary>
    public static readonly int MaxLength = new ContractLimits().MaxNameLength;

    /// <summary>Why MaestroSla would refuse this name, or null.</summary>
    public static string? Problem(string name)
    {
        if (name.Length == 0)
        {
            return "must not be empty";
        }
        if (name.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters";
        }
        foreach (var c in name)
        {
            if (c == '|' || char.IsControl(c))
            {
                return "must not contain '|' or control characters";
            }
        }
        return null;
    }

    /// <summary>A customer as MaestroSla takes it (see <see cref="Clean"/>); null or empty: no customer.</summary>
    public static string? CleanCustomer(string? customer) => string.IsNullOrEmpty(customer) ? null : Clean(customer);

    /// <summary>The name as MaestroSla takes it: '|' (in a regex route constraint) shown as '¦', control characters as '?', cut to length.</summary>
    public static string Clean(string name)
    {
        if (name.Length == 0)
        {
            return "(empty)";
        }
        if (Problem(name) is null)
        {
            return name;
        }
        var length = Math.Min(name.Length, MaxLength);
        // A cut between the halves of a surrogate pair would leave text no JSON writer accepts.
        if (length < name.Length && char.IsHighSurrogate(name[length - 1]))
        {
            length--;
        }
        return string.Create(length, name, static (span, source) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                var c = source[i];
                span[i] = c == '|' ? '¦' : char.IsControl(c) ? '?' : c;
            }
        });
    }
}

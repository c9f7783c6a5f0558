using System.Globalization;
using System.Text.Json;

namespace MaestroSla.Cli.Commands;

/// <summary>
/// `backup list` in a terminal: every field of every set is two dozen columns, unreadable even at 160. By default
/// the columns that tell sets apart, with store and key ids shortened (the set id stays whole: `backup validate`
/// and `restore` take it); `--wide` shows every field in full.
/// </summary>
internal static class BackupListColumns
{
    private static readonly string[] Main = ["id", "type", "createdAt", "events", "bytes", "restorable", "thisStore", "problem", "chainProblem"];

    // Only the columns a set can fill in; problems only when some set has one.
    private static readonly HashSet<string> OnlyWhenFilled = ["problem", "chainProblem"];

    private static readonly HashSet<string> LongIds = ["storeId", "parentId", "keyId", "timelineId", "signedWith"];

    private const int ShortIdLength = 8;

    public static List<string> Select(IEnumerable<string> available, IReadOnlyList<JsonElement> items, bool wide)
    {
        var names = available.ToList();
        if (wide)
        {
            return names;
        }
        var selected = Main.Where(names.Contains).Where(c => !OnlyWhenFilled.Contains(c) || items.Any(i => Filled(i, c))).ToList();
        // An API that names its fields otherwise still gets a table, not an empty one.
        return selected.Count > 1 ? selected : names;
    }

    public static string Cell(string column, string text, bool wide)
    {
        if (wide)
        {
            return text;
        }
        if (column == "createdAt" && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var created))
        {
            return created.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z";
        }
        return LongIds.Contains(column) && text.Length > ShortIdLength + 1 ? text[..ShortIdLength] + "…" : text;
    }

    private static bool Filled(JsonElement item, string name) =>
        item.TryGetProperty(name, out var value) && value.ValueKind is not (JsonValueKind.Null or JsonValueKind.Undefined)
        && !(value.ValueKind == JsonValueKind.String && string.IsNullOrEmpty(value.GetString()));
}

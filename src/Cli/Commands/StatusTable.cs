using Spectre.Console;

namespace MaestroSla.Cli.Commands;

/// <summary>
/// Tables that fit the terminal: a verdict or a number broken over two lines ("BREACHE / D") is unreadable, so
/// those cells never wrap; below 100 columns the borders go and the padding shrinks instead.
/// </summary>
internal static class StatusTable
{
    public const int NarrowBelow = 100;

    public static Table Create(IAnsiConsole console, string title, IEnumerable<string> metricColumns)
    {
        var table = Fitted(console).Title(title);
        var narrow = console.Profile.Width < NarrowBelow;
        // A service name broken into one letter per line is unreadable too: names keep their line.
        table.AddColumn(Pad(new TableColumn("service").NoWrap(), narrow));
        table.AddColumn(Pad(new TableColumn("SLA").NoWrap(), narrow));
        foreach (var name in metricColumns)
        {
            table.AddColumn(Pad(new TableColumn(name).RightAligned().NoWrap(), narrow));
        }
        table.AddColumn(Pad(new TableColumn("budget left").RightAligned().NoWrap(), narrow));
        return table;
    }

    // Narrow: no borders, two spaces between columns (the 80-column status table needs 79).
    private static TableColumn Pad(TableColumn column, bool narrow) => narrow ? column.Padding(0, 0, 2, 0) : column;

    /// <summary>Rounded borders where there is room, a bare layout on a narrow terminal (Spectre reads its width).</summary>
    public static Table Fitted(IAnsiConsole console)
    {
        var table = new Table();
        if (console.Profile.Width < NarrowBelow)
        {
            table.Border(TableBorder.None);
        }
        else
        {
            table.Border(TableBorder.Rounded);
        }
        return table;
    }
}

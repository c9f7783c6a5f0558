using Spectre.Console;

namespace MaestroSla.Cli.Commands;

/// <summary>
/// Tables that fit the terminal: a verdict or a number broken over two lines ("BREACHE / D") is unreadable, so
/// those cells never wrap; below 100 columns the borders and padding shrink instead.
/// </summary>
internal static class StatusTable
{
    public const int NarrowBelow = 100;

    public static Table Create(IAnsiConsole console, string title, IEnumerable<string> metricColumns)
    {
        var table = Fitted(console).Title(title);
        table.AddColumn(new TableColumn("service"));
        table.AddColumn(new TableColumn("SLA").NoWrap());
        foreach (var name in metricColumns)
        {
            table.AddColumn(new TableColumn(name).RightAligned().NoWrap());
        }
        table.AddColumn(new TableColumn("budget left").RightAligned().NoWrap());
        return table;
    }

    /// <summary>Rounded borders where there is room, a bare layout on a narrow terminal (Spectre reads its width).</summary>
    public static Table Fitted(IAnsiConsole console)
    {
        var table = new Table();
        if (console.Profile.Width < NarrowBelow)
        {
            table.Border(TableBorder.Simple);
            table.ShowRowSeparators = false;
        }
        else
        {
            table.Border(TableBorder.Rounded);
        }
        return table;
    }
}

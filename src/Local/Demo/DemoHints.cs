using System.Globalization;

namespace MaestroSla.Local.Demo;

/// <summary>
/// What a reader of the README needs after the demo: the month it loaded (the README's examples use $MONTH), that
/// the current month is empty, and the restore target it registered.
/// </summary>
public static class DemoHints
{
    public static void Print(DateTimeOffset month, DateTimeOffset now)
    {
        var loaded = month.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var current = now.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        Console.WriteLine($"The demo loaded {loaded}; the README's examples use it as $MONTH:");
        Console.WriteLine($"  MONTH={loaded}");
        if (current != loaded)
        {
            Console.WriteLine($"The current month, {current}, has no demo data: the dashboard opens on {loaded}; `maestrosla status --month {loaded}`.");
        }
        Console.WriteLine($"Restore target for `maestrosla restore --target {DemoRestoreTarget.Name}`: database {DemoRestoreTarget.Database} in the demo's own PostgreSQL.");
    }
}

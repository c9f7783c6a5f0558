namespace MaestroSla.Tests.Infrastructure;

public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds, or fails naming <paramref name="what"/>.</summary>
    public static Task HoldsAsync(Func<bool> condition, string what, TimeSpan timeout) =>
        HoldsAsync(() => Task.FromResult(condition()), what, timeout);

    /// <summary>The same for a condition that has to ask something (a database, a service).</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Not reached within {timeout}: {what}");
            }
            await Task.Delay(100);
        }
    }
}

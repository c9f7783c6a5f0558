namespace MaestroSla.Api.Backups;

public static class BackgroundRunStart
{
    /// <summary>
    /// Starts a run that goes on after the request: 202 with the run (its id, status and progress) and its Location
    /// as soon as it is recorded; a run that fails before it is recorded throws, as a waited-for one would.
    /// </summary>
    public static async Task<IResult> AcceptedAsync<T>(
        this BackgroundRuns background, string what, Func<CancellationToken, Action<T>, Task<T>> run, Func<T, string> id)
    {
        var started = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var running = background.Start(what, token => run(token, r => started.TrySetResult(r)));
        if (await Task.WhenAny(started.Task, running) != started.Task)
        {
            await running;
        }
        var recorded = await started.Task;
        return Results.Accepted($"/api/admin/backups/runs/{Uri.EscapeDataString(id(recorded))}", recorded);
    }
}

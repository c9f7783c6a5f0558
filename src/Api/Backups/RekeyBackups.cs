using MaestroSla.Backup.Creating;
using MaestroSla.Backup.Rekeying;
using Wolverine.Http;

namespace MaestroSla.Api.Backups;

public static class RekeyBackupsEndpoint
{
    /// <summary>
    /// Re-seals every set with the current key (Backup:Encryption:Key; the old ones in PreviousKeys) and re-signs
    /// its manifest: new segments beside the old, read back and checked, manifest last, then the old ones deleted.
    /// </summary>
    [WolverinePost("/api/admin/backups/rekey")]
    public static async Task<IResult> Post(BackupRekey rekey, EventLogBackup backup, CancellationToken ct) =>
        Results.Ok(await backup.ExclusivelyAsync(token => rekey.RunAsync(token), ct));
}

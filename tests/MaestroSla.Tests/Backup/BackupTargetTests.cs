using MaestroSla.Backup.Targets;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Backup;

/// <summary>What every operation relies on from a target, on the real folder and the real S3-protocol server.</summary>
[Collection(SharedServices.Name)]
public sealed class BackupTargetTests(ServicesFixture services)
{
    [Theory]
    [InlineData(TargetKinds.Folder)]
    [InlineData(TargetKinds.S3)]
    public async Task a_target_stores_lists_returns_and_deletes_objects_byte_for_byte(string kind)
    {
        using var test = await TestTarget.CreateAsync(services, kind);
        var target = test.Target;
        (await target.ListSetsAsync(default)).ShouldBeEmpty("an empty bucket prefix lists nothing (and does not throw)");
        (await target.ListObjectsAsync("nothing-here", default)).ShouldBeEmpty();
        await Should.ThrowAsync<BackupObjectMissingException>(() => target.OpenReadAsync("nothing-here", "manifest.json", default));

        // Larger than the tests' S3 multipart threshold (it goes up in 10 parts), and not a multiple of the part size.
        var large = new byte[300_000 + 17];
        new Random(5).NextBytes(large);
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, large);
        try
        {
            await target.PutFileAsync("set-b", "events-000001.ndjson.gz", file, default);
        }
        finally
        {
            File.Delete(file);
        }
        await target.PutBytesAsync("set-b", "manifest.json", "{}"u8.ToArray(), default);
        await target.PutBytesAsync("set-a", "state.ndjson.gz", new byte[] { 1, 2, 3 }, default);

        (await target.ListSetsAsync(default)).ShouldBe(["set-a", "set-b"]);
        (await target.ListObjectsAsync("set-b", default)).ShouldBe([new StoredObject("events-000001.ndjson.gz", large.Length), new StoredObject("manifest.json", 2)]);
        (await ReadAsync(target, "set-b", "events-000001.ndjson.gz")).ShouldBe(large);
        (await ReadAsync(target, "set-a", "state.ndjson.gz")).ShouldBe(new byte[] { 1, 2, 3 });

        await target.DeleteAsync("set-b", "manifest.json", default);
        await target.DeleteAsync("set-b", "events-000001.ndjson.gz", default);
        (await target.ListSetsAsync(default)).ShouldBe(["set-a"]);
    }

    private static async Task<byte[]> ReadAsync(IBackupTarget target, string set, string name)
    {
        await using var stream = await target.OpenReadAsync(set, name, default);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }
}

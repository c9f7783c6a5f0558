using System.Collections.Concurrent;
using Amazon.Runtime;
using MaestroSla.Backup.Format;
using MaestroSla.Backup.Retention;
using MaestroSla.Backup.Targets;
using MaestroSla.Tests.Infrastructure;
using Shouldly;

namespace MaestroSla.Tests.Backup;

/// <summary>
/// S3 server-side encryption and Object Lock. s3rver accepts these headers but neither encrypts nor locks: what is
/// checked against it is that every upload (single and multipart) carries them and still round-trips byte for byte.
/// </summary>
[Collection(SharedServices.Name)]
public sealed class BackupServerSideOptionsTests(ServicesFixture services)
{
    [Fact]
    public async Task every_upload_carries_the_kms_encryption_and_object_lock_headers_and_round_trips()
    {
        var options = (await services.S3Async()).TargetOptions($"sse-{Guid.NewGuid():N}/", smallParts: true);
        options.ServerSideEncryption = "aws:kms";
        options.KmsKeyId = "alias/maestrosla-backups";
        options.ObjectLock = new S3ObjectLockOptions { Mode = "COMPLIANCE", Days = 30 };
        options.Problem("Backup:S3").ShouldBeNull();
        var recorder = new RecordingFactory();
        using var target = new S3BackupTarget(options, recorder);

        var large = new byte[200_000 + 3];
        new Random(7).NextBytes(large);
        var file = Path.GetTempFileName();
        await File.WriteAllBytesAsync(file, large);
        try
        {
            await target.PutFileAsync("set-a", "events-000001.ndjson.gz", file, default);
        }
        finally
        {
            File.Delete(file);
        }
        await target.PutBytesAsync("set-a", "manifest.json", "{}"u8.ToArray(), default);

        await using (var stream = await target.OpenReadAsync("set-a", "events-000001.ndjson.gz", default))
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer);
            buffer.ToArray().ShouldBe(large);
        }

        var writes = recorder.Requests.Where(r => r.Method == "PUT" && !r.Query.Contains("partNumber", StringComparison.Ordinal)).ToList();
        var initiations = recorder.Requests.Where(r => r.Method == "POST" && r.Query.Contains("uploads", StringComparison.Ordinal)).ToList();
        writes.Count.ShouldBe(1, "the manifest: the segment went up in parts");
        initiations.Count.ShouldBe(1);
        foreach (var request in writes.Concat(initiations))
        {
            request.Headers["x-amz-server-side-encryption"].ShouldBe("aws:kms");
            request.Headers["x-amz-server-side-encryption-aws-kms-key-id"].ShouldBe("alias/maestrosla-backups");
            request.Headers["x-amz-object-lock-mode"].ShouldBe("COMPLIANCE");
            var until = DateTimeOffset.Parse(request.Headers["x-amz-object-lock-retain-until-date"], System.Globalization.CultureInfo.InvariantCulture);
            (until - DateTimeOffset.UtcNow).TotalDays.ShouldBeInRange(29.9, 30.1);
        }
    }

    [Fact]
    public void bad_server_side_settings_are_refused_at_start_by_name()
    {
        new S3TargetOptions { ServerSideEncryption = "aes" }.Problem("Backup:S3")!.ShouldContain("Backup:S3:ServerSideEncryption");
        new S3TargetOptions { KmsKeyId = "k" }.Problem("Backup:S3")!.ShouldContain("Backup:S3:KmsKeyId");
        new S3TargetOptions { ObjectLock = { Mode = "FOREVER", Days = 1 } }.Problem("Backup:S3")!.ShouldContain("Mode");
        new S3TargetOptions { ObjectLock = { Mode = "GOVERNANCE" } }.Problem("Backup:S3")!.ShouldContain("both Mode and Days");
        new S3TargetOptions { ServerSideEncryption = "AES256", ObjectLock = { Mode = "GOVERNANCE", Days = 7 } }.Problem("Backup:S3").ShouldBeNull();
    }

    [Fact]
    public async Task retention_never_deletes_a_locked_set_before_its_date_and_says_so()
    {
        var folder = Directory.CreateTempSubdirectory("maestrosla-locked-").FullName;
        try
        {
            var now = DateTimeOffset.UtcNow;
            var inner = new FolderBackupTarget(folder);
            string[] ids = ["20261101T000000000Z-full-0001", "20261102T000000000Z-full-0002", "20261103T000000000Z-full-0003"];
            for (var i = 0; i < ids.Length; i++)
            {
                await inner.PutBytesAsync(ids[i], BackupManifest.FileName, new BackupManifest
                {
                    FormatVersion = BackupManifest.CurrentFormatVersion,
                    BackupId = ids[i],
                    Type = BackupType.Full,
                    CreatedAt = now.AddDays(i - 10),
                    SequenceFrom = 0,
                    SequenceTo = 10 * (i + 1),
                    EventCount = 0,
                    Schema = "maestro",
                    Segments = [],
                    StoreId = "8f0c7d52-6b8e-4a4e-9a55-0c0e3c1f7a11",
                    Timeline = 1,
                    TimelineId = "0b7f3c1e-2d4a-4c55-8e6f-1a2b3c4d5e6f",
                }.ToUtf8Json(), default);
            }
            var lockedUntil = now.AddDays(3);
            var target = new LockingTarget(inner, new Dictionary<string, DateTimeOffset> { [ids[0]] = lockedUntil, [ids[1]] = now.AddDays(-1) });

            var result = await new BackupRetention(target, TimeProvider.System).ApplyAsync(keepDays: null, keepCount: 1, default);

            result.Kept.ShouldBe([ids[2]]);
            result.Deleted.ShouldBe([ids[1]], "its lock has expired");
            result.Locked!.Single().ShouldBe($"{ids[0]} (locked until {lockedUntil:O})");
            (await inner.ListSetsAsync(default)).ShouldBe([ids[0], ids[2]]);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>A folder whose sets report Object Lock dates the way the S3 target reads them from the manifest's retain-until.</summary>
    private sealed class LockingTarget(IBackupTarget inner, IReadOnlyDictionary<string, DateTimeOffset> locks) : IBackupTarget
    {
        public string Description => inner.Description;
        public bool IsLocal => inner.IsLocal;
        public Task<IReadOnlyList<string>> ListSetsAsync(CancellationToken ct) => inner.ListSetsAsync(ct);
        public Task<IReadOnlyList<StoredObject>> ListObjectsAsync(string setId, CancellationToken ct) => inner.ListObjectsAsync(setId, ct);
        public Task PutFileAsync(string setId, string name, string localPath, CancellationToken ct) => inner.PutFileAsync(setId, name, localPath, ct);
        public Task PutBytesAsync(string setId, string name, ReadOnlyMemory<byte> content, CancellationToken ct) => inner.PutBytesAsync(setId, name, content, ct);
        public Task<Stream> OpenReadAsync(string setId, string name, CancellationToken ct) => inner.OpenReadAsync(setId, name, ct);

        public Task DeleteAsync(string setId, string name, CancellationToken ct) =>
            locks.TryGetValue(setId, out var until) && until > DateTimeOffset.UtcNow
                ? throw new IOException($"{setId}/{name} is locked until {until:O}")
                : inner.DeleteAsync(setId, name, ct);

        public Task<DateTimeOffset?> LockedUntilAsync(string setId, CancellationToken ct) =>
            Task.FromResult(locks.TryGetValue(setId, out var until) && until > DateTimeOffset.UtcNow ? until : (DateTimeOffset?)null);
    }

    private sealed record SentRequest(string Method, string Query, Dictionary<string, string> Headers);

    /// <summary>The SDK's HTTP client with a handler that notes each request's headers on its way to s3rver.</summary>
    private sealed class RecordingFactory : HttpClientFactory
    {
        public ConcurrentQueue<SentRequest> Requests { get; } = new();

        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(new Recording(this, new HttpClientHandler()));

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => true;

        private sealed class Recording(RecordingFactory owner, HttpMessageHandler inner) : DelegatingHandler(inner)
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var headers = request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>())
                    .ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(",", h.Value), StringComparer.Ordinal);
                owner.Requests.Enqueue(new SentRequest(request.Method.Method, request.RequestUri?.Query ?? "", headers));
                return base.SendAsync(request, cancellationToken);
            }
        }
    }
}

using System.Net;
using System.Security.Cryptography;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace MaestroSla.Backup.Targets;

/// <summary>
/// Sets as key prefixes in an S3 bucket (AWS or any S3-compatible server). Every upload sends its MD5 and checks
/// the returned ETag, so a body mangled on the way (see UseChunkEncoding below) fails the upload instead of
/// turning up later as a corrupt segment.
/// </summary>
public sealed class S3BackupTarget : IBackupTarget, IDisposable
{
    private readonly AmazonS3Client _client;
    private readonly S3TargetOptions _options;
    private readonly string _prefix;

    public S3BackupTarget(S3TargetOptions options) : this(options, httpClientFactory: null)
    {
    }

    /// <param name="httpClientFactory">The SDK's HTTP clients; tests look at the headers actually sent through it.</param>
    internal S3BackupTarget(S3TargetOptions options, HttpClientFactory? httpClientFactory)
    {
        _options = options;
        _prefix = string.IsNullOrEmpty(options.Prefix) || options.Prefix.EndsWith('/') ? options.Prefix : options.Prefix + "/";
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            // Checksum headers only where the API requires them: S3-compatible servers often reject or ignore the
            // flexible-checksum trailers AWS SDK v4 sends by default. Integrity is checked with MD5 and SHA-256.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (httpClientFactory is not null)
        {
            config.HttpClientFactory = httpClientFactory;
        }
        if (string.IsNullOrWhiteSpace(options.ServiceUrl))
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(options.Region);
        }
        else
        {
            config.ServiceURL = options.ServiceUrl;
            config.AuthenticationRegion = options.Region;
        }
        _client = string.IsNullOrEmpty(options.AccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(options.AccessKey, options.SecretKey), config);
    }

    public string Description => $"s3://{_options.Bucket}/{_prefix}";

    public bool IsLocal => false;

    public async Task<IReadOnlyList<string>> ListSetsAsync(CancellationToken ct)
    {
        var sets = new List<string>();
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = _prefix, Delimiter = "/" };
        do
        {
            var response = await _client.ListObjectsV2Async(request, ct);
            // SDK v4 leaves the lists null, not empty, when nothing matched.
            foreach (var prefix in response.CommonPrefixes ?? [])
            {
                sets.Add(prefix[_prefix.Length..].TrimEnd('/'));
            }
            request.ContinuationToken = response.IsTruncated == true ? response.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
        sets.Sort(StringComparer.Ordinal);
        return sets;
    }

    public async Task<IReadOnlyList<StoredObject>> ListObjectsAsync(string setId, CancellationToken ct)
    {
        var objects = new List<StoredObject>();
        var setPrefix = SetPrefix(setId);
        var request = new ListObjectsV2Request { BucketName = _options.Bucket, Prefix = setPrefix };
        do
        {
            var response = await _client.ListObjectsV2Async(request, ct);
            foreach (var item in response.S3Objects ?? [])
            {
                objects.Add(new StoredObject(item.Key[setPrefix.Length..], item.Size ?? 0));
            }
            request.ContinuationToken = response.IsTruncated == true ? response.NextContinuationToken : null;
        }
        while (request.ContinuationToken is not null);
        objects.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return objects;
    }

    public async Task PutFileAsync(string setId, string name, string localPath, CancellationToken ct)
    {
        var length = new FileInfo(localPath).Length;
        if (length > _options.MultipartThreshold)
        {
            await PutMultipartAsync(Key(setId, name), localPath, length, ct);
            return;
        }
        var md5 = await Md5OfFileAsync(localPath, 0, length, ct);
        var response = await _client.PutObjectAsync(WithServerSideOptions(new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = Key(setId, name),
            FilePath = localPath,
            // Without this the SDK sends an aws-chunked body, which some S3-compatible servers (s3rver) store as is:
            // a silently corrupted object.
            UseChunkEncoding = false,
            MD5Digest = Convert.ToBase64String(md5),
        }), ct);
        CheckETag(response.ETag, md5, name);
    }

    public async Task PutBytesAsync(string setId, string name, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        // MD5 is what S3 checks bodies with (Content-MD5, ETag): integrity against mangling, not security.
#pragma warning disable CA5351
        var md5 = MD5.HashData(content.Span);
#pragma warning restore CA5351
        using var body = new MemoryStream(content.ToArray(), writable: false);
        var response = await _client.PutObjectAsync(WithServerSideOptions(new PutObjectRequest
        {
            BucketName = _options.Bucket,
            Key = Key(setId, name),
            InputStream = body,
            UseChunkEncoding = false,
            MD5Digest = Convert.ToBase64String(md5),
        }), ct);
        CheckETag(response.ETag, md5, name);
    }

    public async Task<Stream> OpenReadAsync(string setId, string name, CancellationToken ct)
    {
        try
        {
            var response = await _client.GetObjectAsync(_options.Bucket, Key(setId, name), ct);
            return new ResponseStream(response);
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            throw new BackupObjectMissingException(setId, name);
        }
    }

    public async Task DeleteAsync(string setId, string name, CancellationToken ct) =>
        await _client.DeleteObjectAsync(_options.Bucket, Key(setId, name), ct);

    /// <summary>The manifest is written last, so its retain-until date is the latest of its set.</summary>
    public async Task<DateTimeOffset?> LockedUntilAsync(string setId, CancellationToken ct)
    {
        try
        {
            var head = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _options.Bucket, Key = Key(setId, "manifest.json") }, ct);
            return head.ObjectLockRetainUntilDate is { } until && until > DateTime.UtcNow ? new DateTimeOffset(until.ToUniversalTime(), TimeSpan.Zero) : null;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public void Dispose() => _client.Dispose();

    private PutObjectRequest WithServerSideOptions(PutObjectRequest request)
    {
        if (!string.IsNullOrEmpty(_options.ServerSideEncryption))
        {
            request.ServerSideEncryptionMethod = ServerSideEncryptionMethod.FindValue(_options.ServerSideEncryption);
            if (!string.IsNullOrEmpty(_options.KmsKeyId))
            {
                request.ServerSideEncryptionKeyManagementServiceKeyId = _options.KmsKeyId;
            }
        }
        if (!string.IsNullOrEmpty(_options.ObjectLock.Mode))
        {
            request.ObjectLockMode = ObjectLockMode.FindValue(_options.ObjectLock.Mode);
            request.ObjectLockRetainUntilDate = RetainUntil();
        }
        return request;
    }

    private DateTime RetainUntil() => DateTime.UtcNow.AddDays(_options.ObjectLock.Days ?? 0);

    private async Task PutMultipartAsync(string key, string localPath, long length, CancellationToken ct)
    {
        var initiate = new InitiateMultipartUploadRequest { BucketName = _options.Bucket, Key = key };
        if (!string.IsNullOrEmpty(_options.ServerSideEncryption))
        {
            initiate.ServerSideEncryptionMethod = ServerSideEncryptionMethod.FindValue(_options.ServerSideEncryption);
            if (!string.IsNullOrEmpty(_options.KmsKeyId))
            {
                initiate.ServerSideEncryptionKeyManagementServiceKeyId = _options.KmsKeyId;
            }
        }
        if (!string.IsNullOrEmpty(_options.ObjectLock.Mode))
        {
            initiate.ObjectLockMode = ObjectLockMode.FindValue(_options.ObjectLock.Mode);
            initiate.ObjectLockRetainUntilDate = RetainUntil();
        }
        var upload = await _client.InitiateMultipartUploadAsync(initiate, ct);
        try
        {
            var parts = new List<PartETag>();
            var partNumber = 1;
            for (long position = 0; position < length; position += _options.PartSize, partNumber++)
            {
                var size = Math.Min(_options.PartSize, length - position);
                var md5 = await Md5OfFileAsync(localPath, position, size, ct);
                var part = await _client.UploadPartAsync(new UploadPartRequest
                {
                    BucketName = _options.Bucket,
                    Key = key,
                    UploadId = upload.UploadId,
                    PartNumber = partNumber,
                    FilePath = localPath,
                    FilePosition = position,
                    PartSize = size,
                    IsLastPart = position + size >= length,
                    UseChunkEncoding = false,
                    MD5Digest = Convert.ToBase64String(md5),
                }, ct);
                CheckETag(part.ETag, md5, $"{key} part {partNumber}");
                parts.Add(new PartETag(partNumber, part.ETag));
            }
            await _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _options.Bucket,
                Key = key,
                UploadId = upload.UploadId,
                PartETags = parts,
            }, ct);
        }
        catch
        {
            await _client.AbortMultipartUploadAsync(_options.Bucket, key, upload.UploadId, CancellationToken.None);
            throw;
        }
    }

    private void CheckETag(string? etag, byte[] md5, string what)
    {
        if (_options.UsesKms)
        {
            // SSE-KMS objects' ETags are not the MD5 of their bytes; S3 checked the Content-MD5 sent instead.
            return;
        }
        // A single PUT's (or part's) ETag is the hex MD5 of the bytes the server stored.
        var stored = etag?.Trim('"');
        if (!string.Equals(stored, Convert.ToHexStringLower(md5), StringComparison.OrdinalIgnoreCase))
        {
            throw new IOException($"S3 stored {what} with ETag {etag}, expected MD5 {Convert.ToHexStringLower(md5)}: the upload was altered on the way");
        }
    }

    private static async Task<byte[]> Md5OfFileAsync(string path, long offset, long count, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        file.Position = offset;
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = new byte[1 << 16];
        while (count > 0)
        {
            var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), ct);
            if (read == 0)
            {
                throw new EndOfStreamException($"{path} ended early");
            }
            md5.AppendData(buffer, 0, read);
            count -= read;
        }
        return md5.GetHashAndReset();
    }

    private string SetPrefix(string setId) => $"{_prefix}{CheckName(setId)}/";

    private string Key(string setId, string name) => SetPrefix(setId) + CheckName(name);

    private static string CheckName(string name) =>
        name.Length == 0 || name.Contains('/', StringComparison.Ordinal)
            ? throw new ArgumentException($"'{name}' is not a valid backup set or object name", nameof(name))
            : name;

    /// <summary>The object's body; disposing it releases the HTTP response.</summary>
    private sealed class ResponseStream(GetObjectResponse response) : Stream
    {
        private readonly Stream _body = response.ResponseStream;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => response.ContentLength;

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => _body.Read(buffer, offset, count);

        public override int Read(Span<byte> buffer) => _body.Read(buffer);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            _body.ReadAsync(buffer, offset, count, cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            _body.ReadAsync(buffer, cancellationToken);

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _body.Dispose();
                response.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

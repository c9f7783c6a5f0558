namespace MaestroSla.Backup.Targets;

/// <summary>Which target, and its settings (sections "Backup" and "Backup:Replica").</summary>
public class BackupTargetOptions
{
    public const string FolderTarget = "folder";
    public const string S3Target = "s3";

    /// <summary>"folder" (default) or "s3".</summary>
    public string Target { get; set; } = FolderTarget;

    /// <summary>The folder target's root, relative to the working directory unless absolute.</summary>
    public string Folder { get; set; } = Path.Combine(".data", "backups");

    public S3TargetOptions S3 { get; set; } = new();

    public string? TargetProblem(string section) =>
        Target switch
        {
            FolderTarget => string.IsNullOrWhiteSpace(Folder) ? $"{section}:Folder must not be empty" : null,
            S3Target => string.IsNullOrWhiteSpace(S3.Bucket) ? $"{section}:S3:Bucket must be set for the s3 target" : S3.Problem($"{section}:S3"),
            _ => $"{section}:Target must be \"folder\" or \"s3\"",
        };

    public IBackupTarget CreateTarget() =>
        Target == S3Target ? new S3BackupTarget(S3) : new FolderBackupTarget(Path.GetFullPath(Folder));
}

public sealed class S3TargetOptions
{
    public string Bucket { get; set; } = "";

    /// <summary>Key prefix for every set, e.g. "maestrosla/prod/"; a missing trailing '/' is added.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>Endpoint of an S3-compatible server (MinIO, s3rver, …); empty for AWS itself.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>Path-style addressing (http://host/bucket/key), which S3-compatible servers on one host need.</summary>
    public bool ForcePathStyle { get; set; }

    public string Region { get; set; } = "us-east-1";

    /// <summary>Static credentials; when empty the SDK's default chain (environment, profile, instance role) is used.</summary>
    public string? AccessKey { get; set; }

    public string? SecretKey { get; set; }

    /// <summary>Files larger than this go up as multipart uploads of <see cref="PartSize"/> bytes.</summary>
    public long MultipartThreshold { get; set; } = 64L * 1024 * 1024;

    public long PartSize { get; set; } = 16L * 1024 * 1024;

    /// <summary>S3 server-side encryption of every object: "AES256" (SSE-S3), "aws:kms" or "aws:kms:dsse"; none when empty.</summary>
    public string? ServerSideEncryption { get; set; }

    /// <summary>The KMS key for "aws:kms" (id, ARN or alias); the bucket's default KMS key when empty.</summary>
    public string? KmsKeyId { get; set; }

    /// <summary>Object Lock retention for every object written (the bucket must have Object Lock enabled).</summary>
    public S3ObjectLockOptions ObjectLock { get; set; } = new();

    public bool UsesKms => ServerSideEncryption is not null && ServerSideEncryption.StartsWith("aws:kms", StringComparison.Ordinal);

    public string? Problem(string section) =>
        ServerSideEncryption is not (null or "" or "AES256" or "aws:kms" or "aws:kms:dsse")
            ? $"{section}:ServerSideEncryption must be AES256, aws:kms or aws:kms:dsse"
        : !string.IsNullOrEmpty(KmsKeyId) && !UsesKms ? $"{section}:KmsKeyId needs ServerSideEncryption aws:kms or aws:kms:dsse"
        : ObjectLock.Mode is not (null or "" or "GOVERNANCE" or "COMPLIANCE") ? $"{section}:ObjectLock:Mode must be GOVERNANCE or COMPLIANCE"
        : string.IsNullOrEmpty(ObjectLock.Mode) != (ObjectLock.Days is null) ? $"{section}:ObjectLock needs both Mode and Days"
        : ObjectLock.Days is < 1 ? $"{section}:ObjectLock:Days must be at least 1"
        : null;
}

/// <summary>Section "Backup:S3:ObjectLock": WORM retention S3 enforces, so not even the bucket's writers can delete a set early.</summary>
public sealed class S3ObjectLockOptions
{
    /// <summary>GOVERNANCE (users with s3:BypassGovernanceRetention may still delete) or COMPLIANCE (nobody can).</summary>
    public string? Mode { get; set; }

    public int? Days { get; set; }
}

using System.Security.Cryptography;
using System.Text;

namespace MaestroSla.Backup.Security;

/// <summary>Section "Backup:Encryption": no key, no encryption (sets are written as before).</summary>
public sealed class BackupEncryptionOptions
{
    /// <summary>The current key: 32 random bytes, base64 (`openssl rand -base64 32`). New sets are sealed with it.</summary>
    public string? Key { get; set; }

    /// <summary>A file holding the current key in base64 (a mounted secret), instead of <see cref="Key"/>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>Keys sets were sealed with before a rotation: read (validate, restore, replicate, rekey), never written with.</summary>
    public List<string> PreviousKeys { get; set; } = [];

    /// <summary>Plaintext bytes per sealed frame: bounds the memory a reader or writer needs per file.</summary>
    public int FrameBytes { get; set; } = 1 << 20;
}

/// <summary>Section "Backup:Signing": how manifests are signed and checked.</summary>
public sealed class BackupSigningOptions
{
    /// <summary>
    /// An ECDSA P-256 private key (PEM text, or the path of a PEM file). Set, manifests are signed with it and a
    /// restore site needs only the public key; not set, they are signed with HMAC-SHA256 under a key derived from
    /// the encryption key (when there is one).
    /// </summary>
    public string? PrivateKey { get; set; }

    /// <summary>ECDSA P-256 public keys (PEM text or paths) that may have signed manifests: what a restore site configures.</summary>
    public List<string> PublicKeys { get; set; } = [];

    /// <summary>
    /// Accept manifests without a signature (sets made before signing was configured) even when nothing signed
    /// pins them. Off by default: otherwise whoever can write the bucket could replace a signed set by an unsigned one.
    /// </summary>
    public bool AcceptUnsigned { get; set; }
}

/// <summary>A configuration or key problem: says which setting, never the key.</summary>
public sealed class BackupKeyConfigurationException(string message) : InvalidOperationException(message);

/// <summary>A 256-bit key and what is derived from it. Its id is a fingerprint, safe to write into manifests and logs.</summary>
public sealed class BackupKey
{
    private static readonly byte[] IdInfo = "maestrosla backup key id v1"u8.ToArray();
    private static readonly byte[] HmacInfo = "maestrosla backup manifest hmac v1"u8.ToArray();
    private static readonly byte[] FileInfo = "maestrosla backup file key v1"u8.ToArray();

    private readonly byte[] _material;

    public BackupKey(byte[] material)
    {
        if (material.Length != 32)
        {
            throw new BackupKeyConfigurationException($"a backup key must be 256 bits (32 bytes), not {material.Length * 8}");
        }
        _material = material;
        Id = Convert.ToHexStringLower(HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 8, salt: null, info: IdInfo));
        HmacKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, material, 32, salt: null, info: HmacInfo);
    }

    /// <summary>16 hex characters derived from the key (HKDF-SHA256): names the key without revealing it.</summary>
    public string Id { get; }

    /// <summary>The manifest-signing key: derived, so the encryption key itself never touches a MAC.</summary>
    internal byte[] HmacKey { get; }

    /// <summary>The key one file is sealed under, from that file's random salt: frame nonces can then simply count.</summary>
    internal byte[] FileKey(ReadOnlySpan<byte> salt) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _material, 32, salt.ToArray(), FileInfo);

    public static BackupKey FromBase64(string base64, string setting)
    {
        byte[] material;
        try
        {
            material = Convert.FromBase64String(base64.Trim());
        }
        catch (FormatException)
        {
            throw new BackupKeyConfigurationException($"{setting} is not base64");
        }
        return material.Length == 32
            ? new BackupKey(material)
            : throw new BackupKeyConfigurationException($"{setting} must be 256 bits (32 bytes base64), not {material.Length * 8}");
    }

    public override string ToString() => $"backup key {Id}";
}

/// <summary>
/// Every key this process may use: the current encryption key (sealing new sets, HMAC-signing their manifests),
/// previous ones (reading only), and ECDSA keys for signatures. Found by the id a file or manifest names.
/// </summary>
public sealed class BackupKeyring
{
    public const string HmacAlgorithm = "HMAC-SHA256";
    public const string EcdsaAlgorithm = "ECDSA-P256-SHA256";

    public static readonly BackupKeyring None = new(null, [], null, [], acceptUnsigned: false);

    private readonly Dictionary<string, BackupKey> _keys;
    private readonly Dictionary<string, ECDsa> _publicKeys;

    public BackupKeyring(BackupKey? current, IEnumerable<BackupKey> previous, ECDsa? signer, IEnumerable<ECDsa> publicKeys, bool acceptUnsigned)
    {
        Current = current;
        _keys = new Dictionary<string, BackupKey>(StringComparer.Ordinal);
        foreach (var key in previous.Prepend(current).OfType<BackupKey>())
        {
            _keys.TryAdd(key.Id, key);
        }
        Signer = signer;
        _publicKeys = new Dictionary<string, ECDsa>(StringComparer.Ordinal);
        foreach (var key in publicKeys.Prepend(signer).OfType<ECDsa>())
        {
            _publicKeys.TryAdd(PublicKeyId(key), key);
        }
        SignerId = signer is null ? null : PublicKeyId(signer);
        AcceptUnsigned = acceptUnsigned;
    }

    /// <summary>The key new sets are sealed with; null: they are written in plaintext.</summary>
    public BackupKey? Current { get; }

    public ECDsa? Signer { get; }

    public string? SignerId { get; }

    public bool AcceptUnsigned { get; }

    /// <summary>New manifests get a signature (ECDSA when a private key is set, else HMAC under the current key).</summary>
    public bool Signs => Signer is not null || Current is not null;

    /// <summary>Any key that checks signatures is configured: manifests must then be signed (or pinned by one that is).</summary>
    public bool Verifies => _keys.Count > 0 || _publicKeys.Count > 0;

    public IEnumerable<string> KeyIds => _keys.Keys;

    public BackupKey? Find(string keyId) => _keys.GetValueOrDefault(keyId);

    public ECDsa? FindPublicKey(string keyId) => _publicKeys.GetValueOrDefault(keyId);

    public static string PublicKeyId(ECDsa key) =>
        Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()).AsSpan(0, 8));

    public static BackupKeyring From(BackupOptions options)
    {
        var encryption = options.Encryption;
        if (!string.IsNullOrWhiteSpace(encryption.Key) && !string.IsNullOrWhiteSpace(encryption.KeyFile))
        {
            throw new BackupKeyConfigurationException("give Backup:Encryption:Key or Backup:Encryption:KeyFile, not both");
        }
        var current = !string.IsNullOrWhiteSpace(encryption.Key) ? BackupKey.FromBase64(encryption.Key, "Backup:Encryption:Key")
            : !string.IsNullOrWhiteSpace(encryption.KeyFile) ? BackupKey.FromBase64(ReadFile(encryption.KeyFile, "Backup:Encryption:KeyFile"), "Backup:Encryption:KeyFile")
            : null;
        var previous = encryption.PreviousKeys
            .Where(k => !string.IsNullOrWhiteSpace(k))
            .Select((k, i) => BackupKey.FromBase64(k, $"Backup:Encryption:PreviousKeys:{i}"))
            .ToList();
        var signing = options.Signing;
        var signer = string.IsNullOrWhiteSpace(signing.PrivateKey) ? null : Ecdsa(signing.PrivateKey, "Backup:Signing:PrivateKey", isPrivate: true);
        var publicKeys = signing.PublicKeys.Where(k => !string.IsNullOrWhiteSpace(k))
            .Select((k, i) => Ecdsa(k, $"Backup:Signing:PublicKeys:{i}", isPrivate: false)).ToList();
        return new BackupKeyring(current, previous, signer, publicKeys, signing.AcceptUnsigned);
    }

    private static ECDsa Ecdsa(string pemOrPath, string setting, bool isPrivate)
    {
        var pem = pemOrPath.TrimStart().StartsWith("-----BEGIN", StringComparison.Ordinal) ? pemOrPath : ReadFile(pemOrPath, setting);
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            throw new BackupKeyConfigurationException($"{setting} is not a PEM {(isPrivate ? "private" : "public")} key");
        }
        if (key.KeySize != 256)
        {
            key.Dispose();
            throw new BackupKeyConfigurationException($"{setting} must be an ECDSA P-256 key");
        }
        if (isPrivate)
        {
            try
            {
                key.ExportParameters(includePrivateParameters: true);
            }
            catch (CryptographicException)
            {
                key.Dispose();
                throw new BackupKeyConfigurationException($"{setting} holds no private key");
            }
        }
        return key;
    }

    private static string ReadFile(string path, string setting)
    {
        try
        {
            return File.ReadAllText(path, Encoding.UTF8);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The setting's name, not the path: configuration problems end up in logs.
            throw new BackupKeyConfigurationException($"the file {setting} names cannot be read ({ex.GetType().Name})");
        }
    }
}

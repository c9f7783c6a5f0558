using System.Security.Cryptography;
using MaestroSla.Backup.Format;

namespace MaestroSla.Backup.Security;

/// <summary>Signs manifests and checks their signatures with whatever key the signature names.</summary>
public static class ManifestSigning
{
    public static BackupManifest Sign(BackupManifest manifest, BackupKeyring keys)
    {
        var unsigned = manifest with { Signature = null };
        var content = unsigned.SignedContent();
        if (keys.Signer is { } signer)
        {
            var signature = signer.SignData(content, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            return unsigned with { Signature = new BackupSignature(BackupKeyring.EcdsaAlgorithm, keys.SignerId!, Convert.ToBase64String(signature)) };
        }
        if (keys.Current is { } key)
        {
            return unsigned with { Signature = new BackupSignature(BackupKeyring.HmacAlgorithm, key.Id, Convert.ToBase64String(HMACSHA256.HashData(key.HmacKey, content))) };
        }
        return unsigned;
    }

    /// <summary>Null when the signature holds; else what is wrong with it, for people.</summary>
    public static string? Problem(BackupManifest manifest, BackupKeyring keys)
    {
        if (manifest.Signature is not { } signature)
        {
            return "is not signed";
        }
        byte[] value;
        try
        {
            value = Convert.FromBase64String(signature.Value);
        }
        catch (FormatException)
        {
            return "signature is not base64";
        }
        var content = manifest.SignedContent();
        switch (signature.Algorithm)
        {
            case BackupKeyring.HmacAlgorithm:
                if (keys.Find(signature.KeyId) is not { } key)
                {
                    return $"is signed with key {signature.KeyId}, which is not configured (Backup:Encryption:Key or PreviousKeys)";
                }
                return CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(key.HmacKey, content), value)
                    ? null : "signature does not verify: the manifest was altered or forged";
            case BackupKeyring.EcdsaAlgorithm:
                if (keys.FindPublicKey(signature.KeyId) is not { } publicKey)
                {
                    return $"is signed with ECDSA key {signature.KeyId}, which is not configured (Backup:Signing:PublicKeys)";
                }
                return publicKey.VerifyData(content, value, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation)
                    ? null : "signature does not verify: the manifest was altered or forged";
            default:
                return $"is signed with {signature.Algorithm}, which this version does not know";
        }
    }
}

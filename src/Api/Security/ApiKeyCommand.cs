using System.Security.Cryptography;

namespace MaestroSla.Api.Security;

/// <summary>
/// `MaestroSla.Api hash-key` reads a key from standard input (not the command line, which other users and shell
/// histories see) and prints the KeyHash to configure; `MaestroSla.Api new-key` prints a fresh random key and its hash.
/// </summary>
public static class ApiKeyCommand
{
    public static bool TryRun(string[] args, TextReader input, TextWriter output)
    {
        if (args.Length == 0)
        {
            return false;
        }
        if (args[0] == "hash-key")
        {
            var key = input.ReadLine()?.Trim();
            if (string.IsNullOrEmpty(key))
            {
                throw new InvalidOperationException("hash-key reads the key from standard input: printf '%s' \"$KEY\" | dotnet MaestroSla.Api.dll hash-key");
            }
            output.WriteLine(ApiKeyHash.Of(key));
            return true;
        }
        if (args[0] == "new-key")
        {
            var key = "msla_" + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
            output.WriteLine($"key:  {key}");
            output.WriteLine($"hash: {ApiKeyHash.Of(key)}");
            return true;
        }
        return false;
    }
}

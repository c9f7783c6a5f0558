using System.Buffers.Binary;
using System.Security.Cryptography;
using MaestroSla.Backup.Security;
using Shouldly;

namespace MaestroSla.Tests.Backup;

/// <summary>The sealed format on its own: frames authenticate only in their own place of their own file.</summary>
[Trait("Category", "Unit")]
public sealed class SealedFileTests
{
    private const int Frame = 4096;
    private static readonly BackupKey Key = new(RandomNumberGenerator.GetBytes(32));
    private static readonly BackupKeyring Keys = new(Key, [], null, [], acceptUnsigned: false);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(Frame)]
    [InlineData(3 * Frame + 17)]
    public async Task what_is_sealed_unseals_byte_for_byte_whatever_its_length(int length)
    {
        var plain = RandomNumberGenerator.GetBytes(length);
        var sealed_ = await SealAsync(plain, "set-a/events-000001.ndjson.gz");
        // A full frame is held back until more comes, so an exact multiple of the frame size ends on a full last frame.
        sealed_.Length.ShouldBe(SealedFile.HeaderBytes + Math.Max(1, (length + Frame - 1) / Frame) * (4 + SealedFile.TagBytes) + length);
        SealedFile.LooksSealed(sealed_).ShouldBeTrue();
        (await UnsealAsync(sealed_, "set-a/events-000001.ndjson.gz")).ShouldBe(plain);
    }

    [Fact]
    public async Task a_flipped_bit_anywhere_after_the_magic_is_refused()
    {
        var sealed_ = await SealAsync(RandomNumberGenerator.GetBytes(2 * Frame + 100), "s/f");
        foreach (var position in new[] { 12, 30, 40, SealedFile.HeaderBytes + 2, SealedFile.HeaderBytes + 100, sealed_.Length - 1 })
        {
            var damaged = sealed_.ToArray();
            damaged[position] ^= 0x04;
            await Should.ThrowAsync<BackupSealException>(() => UnsealAsync(damaged, "s/f"), $"byte {position}");
        }
    }

    [Fact]
    public async Task swapped_dropped_or_appended_frames_and_a_cut_file_are_refused()
    {
        var sealed_ = await SealAsync(RandomNumberGenerator.GetBytes(3 * Frame + 10), "s/f");
        var frames = Frames(sealed_);
        frames.Count.ShouldBe(4);
        var header = sealed_.AsSpan(0, SealedFile.HeaderBytes).ToArray();

        byte[] Join(params int[] order) => [.. header, .. order.SelectMany(i => frames[i])];

        Join(0, 1, 2, 3).ShouldBe(sealed_);
        (await Should.ThrowAsync<BackupSealException>(() => UnsealAsync(Join(1, 0, 2, 3), "s/f"))).Message.ShouldContain("frame 0 does not authenticate");
        (await Should.ThrowAsync<BackupSealException>(() => UnsealAsync(Join(0, 2, 3), "s/f"))).Message.ShouldContain("frame 1");
        (await Should.ThrowAsync<BackupSealException>(() => UnsealAsync(Join(0, 1, 2), "s/f"))).Message.ShouldContain("truncated");
        (await Should.ThrowAsync<BackupSealException>(() => UnsealAsync(Join(0, 1, 2, 3, 3), "s/f"))).Message.ShouldContain("follow its last frame");
        (await Should.ThrowAsync<BackupSealException>(() => UnsealAsync(sealed_[..^5], "s/f"))).Message.ShouldContain("truncated");
    }

    [Fact]
    public async Task a_file_moved_to_another_name_or_set_does_not_unseal()
    {
        var sealed_ = await SealAsync(RandomNumberGenerator.GetBytes(100), "set-a/events-000001.ndjson.gz");
        await Should.ThrowAsync<BackupSealException>(() => UnsealAsync(sealed_, "set-a/events-000002.ndjson.gz"));
        await Should.ThrowAsync<BackupSealException>(() => UnsealAsync(sealed_, "set-b/events-000001.ndjson.gz"));
    }

    [Fact]
    public async Task without_its_key_a_file_names_the_key_it_needs_and_a_previous_key_opens_it()
    {
        var sealed_ = await SealAsync(RandomNumberGenerator.GetBytes(100), "s/f");
        var other = new BackupKey(RandomNumberGenerator.GetBytes(32));
        var missing = await Should.ThrowAsync<BackupKeyMissingException>(() => UnsealAsync(sealed_, "s/f", new BackupKeyring(other, [], null, [], false)));
        missing.KeyId.ShouldBe(Key.Id);
        missing.Message.ShouldContain(Key.Id);
        (await UnsealAsync(sealed_, "s/f", new BackupKeyring(other, [Key], null, [], false))).Length.ShouldBe(100);
    }

    [Fact]
    public void key_ids_are_fingerprints_not_the_key_and_bad_keys_are_refused_by_setting_name()
    {
        var material = RandomNumberGenerator.GetBytes(32);
        var key = BackupKey.FromBase64(Convert.ToBase64String(material), "Backup:Encryption:Key");
        key.Id.Length.ShouldBe(16);
        Convert.ToHexStringLower(material).ShouldNotContain(key.Id);
        new BackupKey(material).Id.ShouldBe(key.Id);
        Should.Throw<BackupKeyConfigurationException>(() => BackupKey.FromBase64(Convert.ToBase64String(new byte[16]), "Backup:Encryption:Key"))
            .Message.ShouldContain("Backup:Encryption:Key");
        Should.Throw<BackupKeyConfigurationException>(() => BackupKey.FromBase64("not base64!", "Backup:Encryption:PreviousKeys:0"))
            .Message.ShouldBe("Backup:Encryption:PreviousKeys:0 is not base64");
    }

    private static async Task<byte[]> SealAsync(byte[] plain, string identity)
    {
        using var output = new MemoryStream();
        await using (var sealing = new SealingStream(output, Key, identity, Frame, leaveOpen: true))
        {
            // Odd write sizes: frames must not depend on how the writer is fed.
            for (var offset = 0; offset < plain.Length; offset += 1000)
            {
                await sealing.WriteAsync(plain.AsMemory(offset, Math.Min(1000, plain.Length - offset)));
            }
            await sealing.FinishAsync(default);
        }
        return output.ToArray();
    }

    private static async Task<byte[]> UnsealAsync(byte[] sealed_, string identity, BackupKeyring? keys = null)
    {
        await using var unsealing = new UnsealingStream(new MemoryStream(sealed_), keys ?? Keys, identity);
        using var plain = new MemoryStream();
        await unsealing.CopyToAsync(plain);
        return plain.ToArray();
    }

    /// <summary>The frames of a sealed file as stored (length word, ciphertext, tag).</summary>
    internal static List<byte[]> Frames(byte[] sealed_)
    {
        var frames = new List<byte[]>();
        var position = SealedFile.HeaderBytes;
        while (position < sealed_.Length)
        {
            var length = (int)(BinaryPrimitives.ReadUInt32LittleEndian(sealed_.AsSpan(position)) & 0x7FFF_FFFF);
            var size = 4 + length + SealedFile.TagBytes;
            frames.Add(sealed_.AsSpan(position, size).ToArray());
            position += size;
        }
        return frames;
    }
}

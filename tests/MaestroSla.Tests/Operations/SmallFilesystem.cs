using System.Diagnostics;

namespace MaestroSla.Tests.Operations;

/// <summary>
/// A tmpfs of a given size mounted for one test (needs root, as CI runs), that can be filled to the last byte with
/// a ballast file and grown again without unmounting — a data volume running full and an operator growing it.
/// </summary>
public sealed class SmallFilesystem : IAsyncDisposable
{
    private SmallFilesystem(string path) => Path = path;

    public string Path { get; }

    private string Ballast => System.IO.Path.Combine(Path, "ballast");

    public static async Task<SmallFilesystem> MountAsync(int megabytes)
    {
        var path = Directory.CreateTempSubdirectory("maestrosla-small-fs-").FullName;
        var (code, output) = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0755", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException(
                $"Cannot mount a tmpfs at {path} ({output.Trim()}): this test fills a filesystem under PostgreSQL and must run as root (CI does).");
        }
        return new SmallFilesystem(path);
    }

    /// <summary>A folder on this filesystem owned by <paramref name="user"/> (PostgreSQL insists on owning its tablespace).</summary>
    public async Task<string> FolderForAsync(string name, string user)
    {
        var folder = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(folder);
        var (code, output) = await RunAsync("chown", $"{user}:{user}", folder);
        return code == 0 ? folder : throw new InvalidOperationException($"chown {user} {folder}: {output}");
    }

    /// <summary>Writes a ballast file until the filesystem refuses another byte; returns its size.</summary>
    public long Fill()
    {
        using var file = new FileStream(Ballast, FileMode.Append, FileAccess.Write, FileShare.None, bufferSize: 1);
        var chunk = new byte[1 << 20];
        Random.Shared.NextBytes(chunk);
        // Big chunks first, then single pages, so that not even a page is left.
        foreach (var size in new[] { chunk.Length, 4096 })
        {
            while (true)
            {
                try
                {
                    file.Write(chunk, 0, size);
                    file.Flush();
                }
                catch (IOException)
                {
                    break;
                }
            }
        }
        return file.Length;
    }

    public async Task GrowAsync(int megabytes)
    {
        var (code, output) = await RunAsync("mount", "-o", $"remount,size={megabytes}m", Path);
        if (code != 0)
        {
            throw new InvalidOperationException($"remount {Path}: {output}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await RunAsync("umount", "--lazy", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover empty folder under /tmp is harmless.
        }
    }

    private static async Task<(int Code, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }
}

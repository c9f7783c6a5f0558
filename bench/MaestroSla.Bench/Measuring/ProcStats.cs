using System.Globalization;

namespace MaestroSla.Bench.Measuring;

/// <summary>Reads /proc: CPU time of processes and threads, resident memory, cores and RAM.</summary>
internal static class ProcStats
{
    // USER_HZ, which /proc reports times in: 100 on every Linux ABI .NET runs on.
    private const double TicksPerSecond = 100;

    /// <summary>utime + stime of one process (or thread) and cutime + cstime of its reaped children, in seconds.</summary>
    public static (double Own, double ReapedChildren, int ParentId, string Name)? ReadStat(string statPath)
    {
        string text;
        try
        {
            text = File.ReadAllText(statPath);
        }
        catch (IOException)
        {
            return null; // gone meanwhile
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        // The name is in parentheses and may itself contain spaces and parentheses.
        var open = text.IndexOf('(', StringComparison.Ordinal);
        var close = text.LastIndexOf(')');
        var name = text[(open + 1)..close];
        var fields = text[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state) of proc(5).
        long Field(int number) => long.Parse(fields[number - 3], CultureInfo.InvariantCulture);
        return ((Field(14) + Field(15)) / TicksPerSecond, (Field(16) + Field(17)) / TicksPerSecond, (int)Field(4), name);
    }

    /// <summary>CPU seconds of a process, including the children it has reaped.</summary>
    public static double ProcessCpuSeconds(int pid) =>
        ReadStat($"/proc/{pid}/stat") is { } stat ? stat.Own + stat.ReapedChildren : 0;

    /// <summary>CPU seconds of a process and of all its live children (PostgreSQL: the postmaster and its backends).</summary>
    public static double ProcessTreeCpuSeconds(int rootPid)
    {
        var total = ProcessCpuSeconds(rootPid);
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(directory);
            if (name.Length > 0 && char.IsAsciiDigit(name[0]) && ReadStat(Path.Combine(directory, "stat")) is { } stat
                && stat.ParentId == rootPid)
            {
                total += stat.Own;
            }
        }
        return total;
    }

    /// <summary>CPU seconds per live thread of this process, keyed by thread id.</summary>
    public static Dictionary<int, (string Name, double Seconds)> ThreadCpuSeconds()
    {
        var threads = new Dictionary<int, (string, double)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc/self/task"))
        {
            if (int.TryParse(Path.GetFileName(directory), CultureInfo.InvariantCulture, out var tid)
                && ReadStat(Path.Combine(directory, "stat")) is { } stat)
            {
                threads[tid] = (stat.Name, stat.Own);
            }
        }
        return threads;
    }

    public static long StatusBytes(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                var kb = line[(field.Length + 1)..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    /// <summary>Resets VmHWM to the current RSS (Linux ≥ 4.0), so that each phase reports its own peak.</summary>
    public static bool ResetPeakRss(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>CPU seconds the whole machine spent busy (all cores, every process: first line of /proc/stat).</summary>
    public static double MachineBusySeconds()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // cpu user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait.
        long busy = 0;
        for (var i = 1; i < fields.Length && i <= 8; i++)
        {
            if (i is not 4 and not 5)
            {
                busy += long.Parse(fields[i], CultureInfo.InvariantCulture);
            }
        }
        return busy / TicksPerSecond;
    }

    /// <summary>The 1-minute load average: other work on the machine skews every figure.</summary>
    public static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    public static long TotalMemoryBytes() => MemInfoBytes("MemTotal");

    private static long MemInfoBytes(string field)
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        return 0;
    }

    public static string CpuModel()
    {
        foreach (var line in File.ReadLines("/proc/cpuinfo"))
        {
            if (line.StartsWith("model name", StringComparison.Ordinal))
            {
                return line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }
        return "unknown CPU";
    }
}

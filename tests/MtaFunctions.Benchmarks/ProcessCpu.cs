using System.Globalization;

namespace MtaFunctions.Benchmarks;

/// <summary>CPU seconds used by a process tree, from /proc (Linux): its own, its reaped children's and its live descendants'.</summary>
public static class ProcessCpu
{
    private static readonly double TicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>CPU seconds of <paramref name="pid"/> and everything below it; 0 when it is gone.</summary>
    public static double Seconds(int pid)
    {
        var children = new Dictionary<int, List<int>>();
        var own = new Dictionary<int, double>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var id) || Stat(id) is not { } stat)
            {
                continue;
            }

            own[id] = stat.Cpu;
            if (!children.TryGetValue(stat.Parent, out var list))
            {
                children[stat.Parent] = list = [];
            }

            list.Add(id);
        }

        double Sum(int id) => own.GetValueOrDefault(id) + (children.TryGetValue(id, out var kids) ? kids.Sum(Sum) : 0);
        return Sum(pid);
    }

    /// <summary>Busy CPU seconds of the whole machine (every core), from /proc/stat.</summary>
    public static double MachineSeconds()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(f => double.Parse(f, CultureInfo.InvariantCulture)).ToArray();

        // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
        return (fields.Take(8).Sum() - fields[3] - fields[4]) / TicksPerSecond;
    }

    private static (int Parent, double Cpu)? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");

            // The command name may hold spaces and parentheses: fields start after the last ')'.
            var f = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            double Field(int n) => double.Parse(f[n - 3], CultureInfo.InvariantCulture);
            return ((int)Field(4), (Field(14) + Field(15) + Field(16) + Field(17)) / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

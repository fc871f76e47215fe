using System.Globalization;

namespace MtaFunctions.Core.Delivery;

/// <summary>
/// What names one OS process for the life of a kernel (Linux): the boot, the PID namespace, the PID and the
/// process's start time. Another process on the same machine can then prove that it is gone, where a heartbeat
/// can only suggest it.
/// </summary>
/// <remarks>
/// Why all four: a PID alone is reused; a host name is shared by containers whose processes cannot see each
/// other's. The boot id (<c>/proc/sys/kernel/random/boot_id</c>) changes with every boot; the PID namespace
/// (<c>/proc/self/ns/pid</c>) tells whether the observer sees the same PIDs; the start time (field 22 of
/// <c>/proc/PID/stat</c>, clock ticks since boot) tells a reused PID from the original. Elsewhere than Linux, or
/// when <c>/proc</c> does not show this process's own PID namespace, there is no stamp and nothing is ever
/// proven (a dead instance is then known by its silence only).
/// </remarks>
/// <param name="BootId">The kernel's boot id.</param>
/// <param name="PidNamespace">The PID namespace, as <c>/proc/self/ns/pid</c> names it (<c>pid:[4026531836]</c>).</param>
/// <param name="Pid">The process id in that namespace.</param>
/// <param name="StartTicks">When the process started, in clock ticks since boot.</param>
public sealed record ProcessStamp(string BootId, string PidNamespace, int Pid, long StartTicks)
{
    private const string Proc = "/proc";

    /// <summary>This process's stamp, or null where none can be made.</summary>
    public static ProcessStamp? Current { get; } = Read(Proc);

    /// <summary>The stamp as stored: four fields separated by spaces.</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{BootId} {PidNamespace} {Pid} {StartTicks}");

    /// <summary>Reads a stored stamp; null when <paramref name="text"/> is empty or not one.</summary>
    public static ProcessStamp? Parse(string? text)
    {
        var parts = text?.Split(' ') ?? [];
        return parts.Length == 4
               && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
               && long.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
               && parts[0].Length > 0 && parts[1].Length > 0
            ? new ProcessStamp(parts[0], parts[1], pid, start)
            : null;
    }

    /// <summary>
    /// True only when this process can prove that the process <paramref name="other"/> names has ended: same boot,
    /// same PID namespace, and its PID is free, a zombie, or a later process's. False whenever in doubt.
    /// </summary>
    public bool ProvesGone(ProcessStamp? other) => ProvesGone(other, Proc);

    internal bool ProvesGone(ProcessStamp? other, string proc)
    {
        if (other is null || other.BootId != BootId || other.PidNamespace != PidNamespace || other == this)
        {
            return false;
        }

        string stat;
        try
        {
            stat = File.ReadAllText(Path.Combine(proc, other.Pid.ToString(CultureInfo.InvariantCulture), "stat"));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }

        // A killed process stays a zombie ('Z', then 'X') until its parent reaps it: it runs no more code.
        return ParseStat(stat) is not { } now || now.State is 'Z' or 'X' || now.StartTicks != other.StartTicks;
    }

    internal static ProcessStamp? Read(string proc)
    {
        try
        {
            var boot = File.ReadAllText(Path.Combine(proc, "sys/kernel/random/boot_id")).Trim();
            var pidNamespace = new FileInfo(Path.Combine(proc, "self/ns/pid")).LinkTarget;
            var pid = Environment.ProcessId;
            var self = ParseStat(File.ReadAllText(Path.Combine(proc, "self/stat")));
            var byPid = ParseStat(File.ReadAllText(Path.Combine(proc, pid.ToString(CultureInfo.InvariantCulture), "stat")));

            // The PID this process knows itself by must show this process in /proc, or /proc belongs to
            // another PID namespace and proves nothing about the PIDs we would look up.
            return boot.Length > 0 && pidNamespace is { Length: > 0 } && self is { } me && byPid?.StartTicks == me.StartTicks
                ? new ProcessStamp(boot, pidNamespace, pid, me.StartTicks)
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return null;
        }
    }

    /// <summary>The stamp of another process of this machine and PID namespace (tests), or null when it is not running.</summary>
    internal static ProcessStamp? Of(int pid)
    {
        try
        {
            return Current is { } self && ParseStat(File.ReadAllText(Path.Combine(Proc, pid.ToString(CultureInfo.InvariantCulture), "stat"))) is { } other
                ? self with { Pid = pid, StartTicks = other.StartTicks }
                : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // proc(5): "pid (comm) state ppid ..." with starttime the 22nd field; comm may hold spaces and parentheses,
    // so the fields are counted from the last ')'.
    private static (char State, long StartTicks)? ParseStat(string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19 && fields[0].Length == 1 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            ? (fields[0][0], start)
            : null;
    }
}

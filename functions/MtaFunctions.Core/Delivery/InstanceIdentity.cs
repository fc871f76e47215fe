namespace MtaFunctions.Core.Delivery;

/// <summary>
/// Who this engine instance is in the fleet's shared tables: the one name under which it lists its in-flight
/// messages (<c>InFlight</c>) and holds destination connection slots (<c>DestinationLimits</c>), so that whoever
/// finds it dead frees both.
/// </summary>
/// <remarks>A fresh name per start: a restarted process is a new instance, and its predecessor's rows are a dead one's.</remarks>
public sealed class InstanceIdentity
{
    /// <summary>A new identity for this process.</summary>
    public InstanceIdentity()
        : this(ProcessStamp.Current)
    {
    }

    /// <summary>A new identity with <paramref name="process"/> as the process it runs in (null: not provable).</summary>
    public InstanceIdentity(ProcessStamp? process)
    {
        Process = process;
        Id = $"{Sanitize(Environment.MachineName)}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}";
    }

    /// <summary>The instance's name: host, process id and a random part; valid as a table key.</summary>
    public string Id { get; }

    /// <summary>The process it runs in, for a later process on the same machine to prove it gone; null off Linux.</summary>
    public ProcessStamp? Process { get; }

    // Row keys may not contain / \ # ? or control characters; slot holders add '/' after the id.
    private static string Sanitize(string name) =>
        new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_').ToArray());
}

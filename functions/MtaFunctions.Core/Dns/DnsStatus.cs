namespace MtaFunctions.Core.Dns;

/// <summary>What a DNS lookup found. Failures stay distinct from "nothing there": DANE and MTA-STS depend on it.</summary>
public enum DnsStatus
{
    /// <summary>The name exists and has records of the type asked.</summary>
    Found,

    /// <summary>The name exists but has no records of that type (NODATA).</summary>
    NoRecords,

    /// <summary>The name does not exist (NXDOMAIN).</summary>
    NotFound,

    /// <summary>The resolver failed (SERVFAIL); a validating resolver answers this for bogus DNSSEC data too.</summary>
    ServFail,

    /// <summary>No answer in time, or the transport failed.</summary>
    Timeout,

    /// <summary>Any other failure (REFUSED, malformed answer, ...).</summary>
    Error,
}

/// <summary>Helpers over <see cref="DnsStatus"/>.</summary>
public static class DnsStatusExtensions
{
    /// <summary>True when the lookup gave a definite answer (records, NODATA or NXDOMAIN).</summary>
    public static bool IsDefinite(this DnsStatus status) =>
        status is DnsStatus.Found or DnsStatus.NoRecords or DnsStatus.NotFound;
}

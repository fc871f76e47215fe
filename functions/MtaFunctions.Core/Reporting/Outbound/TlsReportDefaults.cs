namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>Fixed values of outgoing TLS reporting.</summary>
public static class TlsReportDefaults
{
    /// <summary>How often each instance writes its in-memory counts to the TlsResults table.</summary>
    public static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long after a period ends before it is planned: every instance has flushed its last sessions of the
    /// period by then (several flush intervals).
    /// </summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(10);

    /// <summary>Largest random delay before a report goes out (RFC 8460 §4.1's example waits 1 to 14400 seconds); never more than the period's length.</summary>
    public static readonly TimeSpan MaxRandomDelay = TimeSpan.FromHours(4);

    /// <summary>How long a failing rua is retried (RFC 8460 §5.5: SHOULD retry for up to 24 hours).</summary>
    public static readonly TimeSpan RetryWindow = TimeSpan.FromHours(24);

    /// <summary>First retry delay; it doubles with each failure up to <see cref="MaxRetryDelay"/> (§5.5: exponential back-off).</summary>
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMinutes(5);

    /// <summary>Longest delay between two attempts.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromHours(4);

    /// <summary>A claimed send not finished within this is taken over (the instance died half-way).</summary>
    public static readonly TimeSpan ClaimLease = TimeSpan.FromMinutes(10);

    /// <summary>Consecutive periods an rua may fail completely before it is suppressed.</summary>
    public const int FailedPeriodsBeforeSuppression = 3;

    /// <summary>How long a suppressed rua gets no reports.</summary>
    public static readonly TimeSpan Suppression = TimeSpan.FromDays(7);

    /// <summary>How far back closed periods are looked at (retries run up to a day after the random delay).</summary>
    public static readonly TimeSpan LookBack = TimeSpan.FromHours(36);

    /// <summary>How long the plans and send results of a finished period are kept (the CLI shows them).</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(35);

    /// <summary>Timer schedule of SendTlsReports (NCRONTAB with seconds): every five minutes.</summary>
    public const string Schedule = "0 */5 * * * *";
}

namespace MtaFunctions.Core.Configuration;

/// <summary>How often aggregate TLS reports are sent (<c>Report:Tls:Aggregate:Send</c>).</summary>
public enum TlsReportFrequency
{
    /// <summary>No recording, no reports.</summary>
    Never,

    /// <summary>One report per UTC hour.</summary>
    Hourly,

    /// <summary>One report per UTC day, the period RFC 8460 §4.1 recommends.</summary>
    Daily,

    /// <summary>One report per UTC week, Monday 00:00 to Monday 00:00.</summary>
    Weekly,
}

/// <summary>DKIM signing algorithms a report signature may use.</summary>
public enum DkimAlgorithm
{
    /// <summary>rsa-sha256 (RFC 6376).</summary>
    RsaSha256,

    /// <summary>ed25519-sha256 (RFC 8463).</summary>
    Ed25519Sha256,
}

/// <summary>One DKIM signature definition (<c>Report:Dkim:&lt;name&gt;:*</c>).</summary>
/// <param name="Name">The name <c>Report:Tls:Aggregate:Sign</c> lists.</param>
/// <param name="Domain">d= signing domain.</param>
/// <param name="Selector">s= selector.</param>
/// <param name="Algorithm">a= algorithm.</param>
/// <param name="PrivateKeyPem">The private key, PEM (PKCS#1 or PKCS#8).</param>
public sealed record DkimSignatureSettings(string Name, string Domain, string Selector, DkimAlgorithm Algorithm, string PrivateKeyPem)
{
    /// <summary>The wire name of the algorithm.</summary>
    public string AlgorithmWord => Algorithm == DkimAlgorithm.RsaSha256 ? "rsa-sha256" : "ed25519-sha256";

    /// <summary>Keeps the key out of logs.</summary>
    public override string ToString() => $"{Name}: d={Domain} s={Selector} a={AlgorithmWord}";
}

/// <summary>Outgoing aggregate TLS report settings (<c>Report:Tls:Aggregate:*</c>, <c>Report:Submitter</c>, <c>Report:Dkim:*</c>).</summary>
public sealed record TlsReportSettings
{
    /// <summary>TLS-Report-Submitter; equals the domain of <see cref="ContactInfo"/> (RFC 8460 §5.3).</summary>
    public required string Submitter { get; init; }
    public required string FromName { get; init; }
    public required string FromAddress { get; init; }
    public required string OrgName { get; init; }
    public required string ContactInfo { get; init; }
    public required TlsReportFrequency Send { get; init; }
    public required long MaxSize { get; init; }

    /// <summary>The signatures every mailed report carries, in order.</summary>
    public required IReadOnlyList<DkimSignatureSettings> Sign { get; init; }

    /// <summary>
    /// Set when a report setting could not be used: reports are then off (<see cref="Send"/> is never) while
    /// delivery runs, and this says why (start-up error log, <c>tlsrpt pending</c>).
    /// </summary>
    public SettingsProblem? Problem { get; init; }
}

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>A parsed MTA-STS policy file (RFC 8461 §3.2).</summary>
/// <remarks>
/// MTA-STS lets a domain say "mail to me goes only to these MX hosts, over STARTTLS with a Web-PKI
/// certificate": a TXT record at <c>_mta-sts.&lt;domain&gt;</c> announces a policy and its id (§3.1), the policy
/// is fetched over HTTPS from <c>mta-sts.&lt;domain&gt;</c> (§3.3), cached for <c>max_age</c> seconds, and applied
/// to every MX of the domain (§4, §5).
/// </remarks>
/// <param name="Mode">enforce, testing or none.</param>
/// <param name="MxPatterns">Allowed MX hosts; empty only with mode none.</param>
/// <param name="MaxAgeSeconds"><c>max_age</c>: how long the policy may be cached, 0..31557600.</param>
public sealed record MtaStsPolicy(MtaStsMode Mode, IReadOnlyList<MxPattern> MxPatterns, long MaxAgeSeconds)
{
    /// <summary>RFC 8461 §3.2: the largest max_age, about one year.</summary>
    public const long MaxMaxAgeSeconds = 31557600;

    /// <summary>Whether <paramref name="mxHost"/> matches one of the mx patterns (RFC 8461 §4.1).</summary>
    public bool Matches(string mxHost) => MxPatterns.Any(p => p.Matches(mxHost));

    /// <summary>The policy as canonical lines: version, mode, each mx, max_age (RFC 8460 §4.5 policy-string).</summary>
    public IReadOnlyList<string> Lines =>
    [
        "version: STSv1",
        $"mode: {Mode.ToWire()}",
        .. MxPatterns.Select(p => $"mx: {p.Text}"),
        $"max_age: {MaxAgeSeconds}",
    ];

    /// <summary>The canonical policy file text (CRLF lines); <see cref="MtaStsPolicyParser.Parse"/> reads it back.</summary>
    public override string ToString() => string.Join("\r\n", Lines) + "\r\n";

    /// <summary>Value equality over the mx list too.</summary>
    public bool Equals(MtaStsPolicy? other) =>
        other is not null && Mode == other.Mode && MaxAgeSeconds == other.MaxAgeSeconds && MxPatterns.SequenceEqual(other.MxPatterns);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Mode, MaxAgeSeconds, MxPatterns.Count);
}

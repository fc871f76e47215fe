using MtaFunctions.Client.Contract;

namespace MtaFunctions.Core.Operations;

/// <summary>How a delivered recipient was protected, read from its Deliveries row.</summary>
public enum OutboundTlsPosture
{
    /// <summary>The certificate matched the MX host's TLSA records (RFC 7672).</summary>
    Dane,

    /// <summary>An enforced MTA-STS policy demanded TLS and a valid certificate (RFC 8461 §5).</summary>
    Sts,

    /// <summary>A certificate valid under the trusted roots, no DANE and no enforced MTA-STS.</summary>
    Pkix,

    /// <summary>TLS without an authenticated certificate (opportunistic).</summary>
    Encrypted,

    /// <summary>No TLS.</summary>
    Plaintext,
}

/// <summary>Reads <see cref="OutboundTlsPosture"/> from the columns the delivery writes.</summary>
public static class OutboundTlsPostures
{
    /// <summary>Wire names, in the order the dashboard shows them.</summary>
    public static IReadOnlyList<OutboundTlsPosture> All { get; } = Enum.GetValues<OutboundTlsPosture>();

    /// <summary>The lower-case name used in JSON.</summary>
    public static string ToWire(this OutboundTlsPosture posture) => posture.ToString().ToLowerInvariant();

    /// <summary>The posture of a row's last session; null when no session decided it (no MX reached).</summary>
    /// <remarks>
    /// The same classes as the <c>mta.tls.policy</c> metric attribute: <c>PolicyApplied</c> names the policy in force,
    /// <c>CertificateVerified</c> whether the session's certificate passed it, and an STS policy enforced when its
    /// detail says <c>mode=enforce</c> (a testing policy delivers under PKIX rules or none).
    /// </remarks>
    public static OutboundTlsPosture? Of(DeliveryRecord row)
    {
        if (row.MxHost is null)
        {
            return null;
        }

        if (row.TlsVersion is null)
        {
            return OutboundTlsPosture.Plaintext;
        }

        if (row.CertificateVerified != true)
        {
            return OutboundTlsPosture.Encrypted;
        }

        return row.PolicyApplied switch
        {
            "dane" => OutboundTlsPosture.Dane,
            "sts" when row.PolicyDetail?.Contains("mode=enforce", StringComparison.Ordinal) == true => OutboundTlsPosture.Sts,
            _ => OutboundTlsPosture.Pkix,
        };
    }
}

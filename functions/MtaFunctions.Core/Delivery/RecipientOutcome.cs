using MtaFunctions.Core.Smtp;

namespace MtaFunctions.Core.Delivery;

/// <summary>How an attempt ended for one recipient.</summary>
public enum OutcomeKind
{
    /// <summary>2xx after DATA.</summary>
    Delivered,

    /// <summary>4xx, network, TLS or policy failure: try again later.</summary>
    Temporary,

    /// <summary>5xx, null MX, no such domain: never retried.</summary>
    Permanent,

    /// <summary>No connection slot or rate token of the destination came free in time: back on the queue, not an attempt.</summary>
    Throttled,
}

/// <summary>The result of one attempt for one recipient.</summary>
/// <param name="Recipient">The envelope recipient.</param>
/// <param name="Kind">Delivered, temporary or permanent.</param>
/// <param name="Reply">The SMTP reply or local reason ("451 4.4.1 ...").</param>
/// <param name="Session">The session that decided it, when one did.</param>
/// <param name="PolicyApplied">Transport policy in force: none, sts, dane, tls-required-no.</param>
/// <param name="PolicyDetail">Detail of the policy.</param>
/// <param name="StsEnforced">An enforced MTA-STS policy decided the last MX tried.</param>
public sealed record RecipientOutcome(
    string Recipient, OutcomeKind Kind, string Reply, SmtpSessionResult? Session, string? PolicyApplied, string? PolicyDetail,
    bool StsEnforced = false);

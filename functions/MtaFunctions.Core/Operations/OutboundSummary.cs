namespace MtaFunctions.Core.Operations;

/// <summary>
/// What the outbound dashboard shows for a range of hours: outcomes per hour, the TLS posture of what was
/// delivered, the top deferral reasons by destination, and the queue now. Built by <see cref="OutboundSummaryBuilder"/>.
/// </summary>
/// <param name="From">Start of the first hour (UTC).</param>
/// <param name="To">End of the range (now).</param>
/// <param name="RowsRead">Recipient rows read for the range.</param>
/// <param name="Truncated">The range held more than <see cref="OutboundSummaryReader.MaxRows"/> rows: the figures cover the first ones read.</param>
/// <param name="Hours">One entry per hour of the range, oldest first, zeros included.</param>
/// <param name="Totals">The outcomes of the whole range.</param>
/// <param name="Tls">TLS posture of the recipients delivered in the range.</param>
/// <param name="TopDeferrals">Recipients deferred now (last attempt in the range) by destination and reason, most first.</param>
/// <param name="Queue">The outbound queue now.</param>
public sealed record OutboundSummary(
    DateTimeOffset From, DateTimeOffset To, int RowsRead, bool Truncated, IReadOnlyList<OutboundHour> Hours, OutboundOutcomes Totals,
    OutboundTlsShares Tls, IReadOnlyList<OutboundDeferral> TopDeferrals, OutboundQueueState Queue);

/// <summary>Recipients by the outcome of their last attempt.</summary>
/// <param name="Delivered">Accepted by the MX.</param>
/// <param name="Deferred">Waiting for a retry.</param>
/// <param name="Bounced">Failed for good, a DSN sent.</param>
/// <param name="Failed">Failed for good without a DSN (the message was itself a bounce, or dropped).</param>
public sealed record OutboundOutcomes(int Delivered, int Deferred, int Bounced, int Failed);

/// <summary>Outcomes of the recipients whose last attempt ended in one hour.</summary>
/// <param name="Hour">Start of the hour (UTC).</param>
/// <param name="Outcomes">The counts.</param>
public sealed record OutboundHour(DateTimeOffset Hour, OutboundOutcomes Outcomes);

/// <summary>Delivered recipients by the TLS of the session that delivered them; shares in percent of <paramref name="Delivered"/>.</summary>
/// <param name="Delivered">Recipients delivered in the range.</param>
/// <param name="Counts">Per <see cref="OutboundTlsPosture"/> wire name: how many.</param>
/// <param name="Shares">Per <see cref="OutboundTlsPosture"/> wire name: percent of <paramref name="Delivered"/>, two decimals.</param>
public sealed record OutboundTlsShares(int Delivered, IReadOnlyDictionary<string, int> Counts, IReadOnlyDictionary<string, double> Shares);

/// <summary>A deferral reason at one destination.</summary>
/// <param name="Domain">The destination domain.</param>
/// <param name="Reason">The last SMTP reply or local error, as stored (the page shows it as text).</param>
/// <param name="Recipients">How many recipients are deferred with it.</param>
public sealed record OutboundDeferral(string Domain, string Reason, int Recipients);

/// <summary>The outbound queue at the time of the summary.</summary>
/// <param name="Length">Messages on the queue (approximate; hidden retries included), null when the queue does not exist.</param>
/// <param name="OldestQueuedAt">queuedAt of the oldest message waiting (deferred or visible), null when none.</param>
/// <param name="OldestAgeSeconds">Its age in seconds.</param>
/// <param name="DeferredMessages">Messages with a recipient deferred.</param>
/// <param name="Truncated">More deferred rows than <see cref="OutboundSummaryReader.MaxRows"/>: the oldest is among the first read.</param>
public sealed record OutboundQueueState(long? Length, DateTimeOffset? OldestQueuedAt, double? OldestAgeSeconds, int DeferredMessages, bool Truncated);

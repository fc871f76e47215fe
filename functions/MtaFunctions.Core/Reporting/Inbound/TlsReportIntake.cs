using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>Takes TLS reports other senders send about our domains, over HTTPS or by mail, and stores each once.</summary>
/// <remarks>
/// Approach, in the order a report meets it:
/// 1. the key (when a setting asks for one) and the media type, before a byte of the body is read;
/// 2. the body, read within its size limit; its gzip trailer refuses a report past the decompressed limit before
///    inflating, and the <see cref="DecodeMemoryBudget"/> holds the report back until memory for it is free;
/// 3. the tolerant RFC 8460 reader, whose errors name the field, within <see cref="TlsRptLimits"/>, reading the
///    JSON as it is inflated (only a small one is held; its SHA-256 is computed on the way);
/// 4. the policy domains, which must be host names and ours (RFC 8460 §7: reports are untrusted input);
/// 5. only then storage, all or nothing, keyed by organisation + report-id + content digest, so a report re-sent
///    (RFC 8460 §5.5 retries) is stored once; then the day's failure rate of each domain from its running totals,
///    with a warning when it passes the threshold. A refused report writes nothing.
/// </remarks>
public sealed class TlsReportIntake(
    TlsRptInboundSettings settings,
    IReceivedTlsReportStore store,
    FailureRateMonitor monitor,
    DecodeMemoryBudget budget,
    TimeProvider time,
    ILogger<TlsReportIntake> logger)
{
    /// <summary>Media types a POSTed report may carry (RFC 8460 §5.4, plus the generic ones reporters use).</summary>
    public static IReadOnlyList<string> AcceptedMediaTypes { get; } =
        [TlsRptMediaTypes.Gzip, TlsRptMediaTypes.Json, TlsRptMediaTypes.PlainGzip, TlsRptMediaTypes.PlainJson];

    /// <summary>A report POSTed to the HTTPS endpoint (RFC 8460 §5.4).</summary>
    /// <param name="body">The request body.</param>
    /// <param name="contentType">The Content-Type header.</param>
    /// <param name="contentLength">The Content-Length header, when sent.</param>
    /// <param name="key">The <c>key</c> query parameter, when sent.</param>
    /// <param name="cancellationToken">Cancels reading and storing.</param>
    public async Task<TlsReportIntakeOutcome> ReceiveHttpAsync(Stream body, string? contentType, long? contentLength, string? key, CancellationToken cancellationToken)
    {
        if (settings.Key is not null && !KeyMatches(settings.Key, key))
        {
            return Refused(TlsReportIntakeStatus.KeyRequired, key is null ? "this endpoint needs ?key= in its URL" : "the key in the URL is wrong");
        }

        if (contentType is null || !MediaTypeHeaderValue.TryParse(contentType, out var media) || media.MediaType is null)
        {
            return Refused(TlsReportIntakeStatus.UnsupportedMediaType, $"Content-Type {(contentType is null ? "is missing" : $"'{contentType}' cannot be read")}; send {string.Join(" or ", AcceptedMediaTypes)}");
        }

        if (!AcceptedMediaTypes.Contains(media.MediaType.ToLowerInvariant()))
        {
            return Refused(TlsReportIntakeStatus.UnsupportedMediaType, $"media type '{media.MediaType}' is not a TLS report; send {string.Join(" or ", AcceptedMediaTypes)}");
        }

        if (contentLength > settings.MaxBodySize)
        {
            return Refused(TlsReportIntakeStatus.TooLarge, $"request body of {contentLength} bytes is larger than {settings.MaxBodySize} bytes");
        }

        try
        {
            using var decoded = await ReportBodyDecoder.ReadAsync(body, settings.MaxBodySize, settings.MaxReportSize, "request body", budget, cancellationToken).ConfigureAwait(false);
            return await AcceptAsync(decoded, "https", null, cancellationToken).ConfigureAwait(false);
        }
        catch (TlsReportRejectedException e)
        {
            return Refused(e.Status, e.Message);
        }
    }

    /// <summary>A whole mailed report (RFC 8460 §5.3: an RFC 5322 multipart/report message), as an inbound-mail webhook or a mailbox poller hands it over.</summary>
    /// <param name="message">The message bytes.</param>
    /// <param name="contentLength">Their length, when known.</param>
    /// <param name="cancellationToken">Cancels reading and storing.</param>
    public async Task<TlsReportIntakeOutcome> ReceiveMailAsync(Stream message, long? contentLength, CancellationToken cancellationToken)
    {
        if (contentLength > settings.MaxMessageSize)
        {
            return Refused(TlsReportIntakeStatus.TooLarge, $"message of {contentLength} bytes is larger than {settings.MaxMessageSize} bytes");
        }

        try
        {
            // The parsed message (about twice its size) takes its share of the budget while its report is read.
            using var messageLease = await budget.AcquireAsync(2 * (contentLength ?? settings.MaxMessageSize), cancellationToken).ConfigureAwait(false);
            var (part, reportDomain) = await TlsRptMailReader.ReadAsync(new LimitedReadStream(message, settings.MaxMessageSize, "message"), cancellationToken).ConfigureAwait(false);
            await using var content = part.Content?.Open()
                ?? throw new TlsReportRejectedException(TlsReportIntakeStatus.Invalid, "message: the report part is empty");
            using var decoded = await ReportBodyDecoder.ReadAsync(content, settings.MaxMessageSize, settings.MaxReportSize, "report attachment", budget, cancellationToken).ConfigureAwait(false);
            return await AcceptAsync(decoded, "mail", reportDomain, cancellationToken).ConfigureAwait(false);
        }
        catch (TlsReportRejectedException e)
        {
            return Refused(e.Status, e.Message);
        }
    }

    private async Task<TlsReportIntakeOutcome> AcceptAsync(DecodedReport decoded, string source, string? headerDomain, CancellationToken cancellationToken)
    {
        var report = decoded.Report;
        if (report.Policies.Count == 0)
        {
            return Refused(TlsReportIntakeStatus.Invalid, "tls-rpt report: policies: is empty");
        }

        // The reader has made every policy-domain a lower-case host name (or refused the report).
        var named = report.Policies.Select(p => p.Policy.PolicyDomain).OfType<string>().Distinct().ToList();
        if (named.FirstOrDefault(d => !settings.IsOurs(d)) is { } foreign)
        {
            // RFC 8460 §7: anyone can send reports to a published rua; only reports about our domains are kept.
            return Refused(TlsReportIntakeStatus.ForeignDomain, $"policy-domain '{foreign}' is not one of ours");
        }

        // Spec note: Postfix's reporter leaves policy-domain out for no-policy-found. Such policies count for the
        // report's one named domain, else for the mail's TLS-Report-Domain header (RFC 8460 §5.3).
        string? fallback = null;
        if (report.Policies.Any(p => p.Policy.PolicyDomain is null))
        {
            fallback = named.Count == 1 ? named[0] : headerDomain is null ? null : HostNameSyntax.Normalize(headerDomain);
            if (fallback is null)
            {
                return Refused(
                    TlsReportIntakeStatus.Invalid,
                    headerDomain is null
                        ? "tls-rpt report: policy-domain: missing, and the report names no single domain it could belong to"
                        : $"TLS-Report-Domain: '{headerDomain}' is not a host name, and policy-domain is missing");
            }

            if (!settings.IsOurs(fallback))
            {
                return Refused(TlsReportIntakeStatus.ForeignDomain, $"report domain '{fallback}' is not one of ours");
            }
        }

        var groups = report.Policies.GroupBy(p => p.Policy.PolicyDomain ?? fallback!, StringComparer.Ordinal).ToList();
        if (groups.Count > TlsRptLimits.MaxPolicyDomains)
        {
            return Refused(TlsReportIntakeStatus.Invalid, $"tls-rpt report: policies: name {groups.Count} policy domains; at most {TlsRptLimits.MaxPolicyDomains} are taken per report");
        }

        var key = ReceivedTlsReport.KeyOfDigest(report.OrganizationName, report.ReportId, decoded.Json.Sha256);
        var domains = groups.Select(g => ReceivedDomainReport.Of(g.Key, key, report, g.ToList())).ToList();
        var received = new ReceivedTlsReport(key, report, decoded.Json, source, time.GetUtcNow(), domains);

        // Everything is checked: from here on the report is written whole or not at all.
        var write = await store.AddAsync(received, cancellationToken).ConfigureAwait(false);
        if (!write.Stored)
        {
            return Duplicate(report);
        }

        Log.Stored(logger, report.OrganizationName, report.ReportId, string.Join(",", domains.Select(d => d.Domain)), source, report.TotalSuccessfulSessions, report.TotalFailureSessions);
        FailureRateMonitor.CountReport("stored");
        monitor.Check(write.Changes);
        return new TlsReportIntakeOutcome(
            TlsReportIntakeStatus.Stored,
            $"stored report {report.ReportId} of {report.OrganizationName}",
            report.OrganizationName,
            report.ReportId,
            domains.Select(d => d.Domain).ToList());
    }

    private TlsReportIntakeOutcome Duplicate(TlsRptReport report)
    {
        Log.Duplicate(logger, report.OrganizationName, report.ReportId);
        FailureRateMonitor.CountReport("duplicate");
        return new TlsReportIntakeOutcome(TlsReportIntakeStatus.Duplicate, $"report {report.ReportId} of {report.OrganizationName} was stored before", report.OrganizationName, report.ReportId);
    }

    private TlsReportIntakeOutcome Refused(TlsReportIntakeStatus status, string message)
    {
        Log.Refused(logger, status, message);
        FailureRateMonitor.CountReport(status.ToString().ToLowerInvariant());
        return new TlsReportIntakeOutcome(status, message);
    }

    private static bool KeyMatches(string expected, string? given) =>
        given is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(given));
}

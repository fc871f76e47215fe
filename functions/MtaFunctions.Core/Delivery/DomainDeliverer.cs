using MimeKit;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;
using MtaFunctions.Core.Smtp;
using MtaFunctions.Core.Telemetry;

namespace MtaFunctions.Core.Delivery;

/// <summary>
/// One attempt to deliver one message to the recipients of one domain.
/// </summary>
/// <remarks>
/// Approach:
/// 1. MX lookup: a null MX or NXDOMAIN fails the recipients for good, a DNS failure defers them.
/// 2. The domain's TLS plan (rules, MTA-STS, DANE) is prepared once; each MX then gets its own policy,
///    because DANE and STS matching are per host.
/// 3. Every address of every MX is tried in preference order until one session reaches the transaction;
///    a host the policy refuses is treated like an unreachable one (RFC 8461 §5, no pre-filtering).
/// 4. The transaction's replies decide each recipient; if no session got that far, all are deferred.
/// 5. Every TLS session attempt is counted for TLS-RPT, except those of report mail itself.
/// </remarks>
public sealed class DomainDeliverer(
    OutboundSettings settings, IDnsResolver dns, MxResolver mxResolver, TlsPolicyResolver policies,
    SmtpSender sender, DestinationGuard guard, ITlsSessionRecorder recorder, RouteDeliverer routes)
{
    /// <summary>Attempts delivery of a message built in code (report mail, tests): relayed as MimeKit writes it.</summary>
    public Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(
        string domain, IReadOnlyList<string> recipients, string from, MimeMessage message, bool tlsRequiredNo,
        CancellationToken cancellationToken) =>
        DeliverAsync(domain, recipients, from, RelayMessage.From(message), tlsRequiredNo, cancellationToken);

    /// <summary>Attempts delivery to <paramref name="recipients"/>, all of <paramref name="domain"/>.</summary>
    /// <param name="decided">
    /// Called with the outcomes of each SMTP transaction as soon as its end-of-data reply is read, before any
    /// further I/O (see <see cref="SmtpSender.SendAsync"/>); the returned list holds them too.
    /// </param>
    public async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(
        string domain, IReadOnlyList<string> recipients, string from, RelayMessage message, bool tlsRequiredNo,
        CancellationToken cancellationToken, Func<IReadOnlyList<RecipientOutcome>, Task>? decided = null)
    {
        // A route to a host replaces the MX lookup; a route to an MX domain uses that domain's MX hosts and policies.
        var route = settings.RouteFor(domain);
        if (route?.Host is not null)
        {
            return await routes.DeliverAsync(route, recipients, from, message, cancellationToken, decided).ConfigureAwait(false);
        }

        var mxDomain = route?.MxDomain ?? domain;
        MxResolution mx;
        using (var lookup = MtaTelemetry.Source.StartActivity("mta.mx.lookup"))
        {
            mx = await mxResolver.ResolveAsync(mxDomain, cancellationToken).ConfigureAwait(false);
            lookup?.SetTag("mta.mx.count", mx.Hosts.Count);
        }

        if (mx.PermanentError is not null)
        {
            return All(recipients, OutcomeKind.Permanent, $"550 {mx.PermanentError}");
        }

        if (mx.TemporaryError is not null)
        {
            return All(recipients, OutcomeKind.Temporary, $"451 {mx.TemporaryError}");
        }

        DomainTlsPlan plan;
        using (MtaTelemetry.Source.StartActivity("mta.policy.resolve"))
        {
            plan = await policies.ForDomainAsync(mxDomain, tlsRequiredNo, cancellationToken).ConfigureAwait(false);
        }

        var errors = new List<string>();
        MxTlsPolicy? lastPolicy = null;
        SmtpSessionResult? lastSession = null;
        foreach (var host in mx.Hosts)
        {
            var addresses = await dns.QueryAddressesAsync(host, cancellationToken).ConfigureAwait(false);

            // RFC 5321 §5.1: no MX and no address record means the domain cannot take mail: fail now, not after
            // the whole lifetime of retries.
            if (mx.Implicit && addresses.Status is DnsStatus.NoRecords or DnsStatus.NotFound)
            {
                return All(recipients, OutcomeKind.Permanent, $"550 5.1.2 domain {domain} has no MX and no A/AAAA record (RFC 5321 §5.1)");
            }

            if (addresses.Status != DnsStatus.Found)
            {
                errors.Add($"{host}: address lookup {addresses.Status}{(addresses.Error is null ? "" : $" ({addresses.Error})")}");
                continue;
            }

            MxTlsPolicy policy;
            using (var resolve = MtaTelemetry.Source.StartActivity("mta.policy.resolve"))
            {
                policy = await plan.ForMxAsync(host, addresses, cancellationToken).ConfigureAwait(false);
                resolve?.SetTag("server.address", host);
                resolve?.SetTag("mta.policy.applied", policy.Applied);
            }

            lastPolicy = policy;
            if (policy.Refusal is { } refusal)
            {
                Record(policy, host, null, null, refusal.Type, refusal.Reason);
                errors.Add($"{host}: {refusal.Reason}");
                continue;
            }

            foreach (var address in addresses.Records)
            {
                if (!guard.IsAllowed(address))
                {
                    errors.Add($"{host}[{address}]: refused, not a public address ({SettingKeys.AllowPrivateDestinations} is off)");
                    continue;
                }

                var target = new SmtpTarget(host, address, settings.SmtpPort)
                {
                    Destination = route is null ? host : $"route:{route.Name}",
                    Limit = route is null ? settings.Limits.For(host, domain) : settings.Limits.For(route),
                };
                var session = await SessionAsync(target, policy, from, recipients, message, decided, cancellationToken).ConfigureAwait(false);
                lastSession = session;
                RecordSession(policy, session);
                if (session.Failure == SessionFailure.None)
                {
                    return Outcomes(session, session.Replies, policy);
                }

                if (session.Failure == SessionFailure.Throttled)
                {
                    // Our own pacing, not the destination's answer: back on the queue without counting an attempt.
                    return recipients.Select(r => new RecipientOutcome(
                        r, OutcomeKind.Throttled, $"451 4.4.5 {session.Error}", session, policy.Applied, policy.Detail, policy.StsEnforced)).ToList();
                }

                errors.Add(session.Error ?? session.Failure.ToString());
            }
        }

        if (mx.Hosts.Count == 0)
        {
            errors.Add("no MX host left to try");
        }

        var reason = $"451 4.4.1 no MX host of {domain} could take the message: {string.Join("; ", errors)}";
        return recipients.Select(r => new RecipientOutcome(
            r, OutcomeKind.Temporary, reason, lastSession, lastPolicy?.Applied, lastPolicy?.Detail, lastPolicy?.StsEnforced == true)).ToList();
    }

    private static List<RecipientOutcome> Outcomes(SmtpSessionResult session, IReadOnlyList<RecipientReply> replies, MxTlsPolicy policy) =>
        replies.Select(r => new RecipientOutcome(
                r.Recipient,
                KindOf(r.Code),
                session.Conversion is { } conversion ? $"{r} ({conversion})" : r.ToString(),
                session, policy.Applied, Detail(policy, session), policy.StsEnforced))
            .ToList();

    /// <summary>The outcome of a recipient's final reply code.</summary>
    internal static OutcomeKind KindOf(int code) =>
        code is >= 200 and < 300 ? OutcomeKind.Delivered : code >= 500 ? OutcomeKind.Permanent : OutcomeKind.Temporary;

    // One SMTP session, timed and traced (MX host, address, policy, result; never the recipients).
    private async Task<SmtpSessionResult> SessionAsync(
        SmtpTarget target, MxTlsPolicy policy, string from, IReadOnlyList<string> recipients, RelayMessage message,
        Func<IReadOnlyList<RecipientOutcome>, Task>? decided, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        using var span = MtaTelemetry.Source.StartActivity("mta.smtp.session");
        span?.SetTag("server.address", target.MxHost);
        span?.SetTag("network.peer.address", target.Address.ToString());
        span?.SetTag("mta.policy.applied", policy.Applied);
        Func<SmtpSessionResult, Task>? early = decided is null ? null : transaction => decided(Outcomes(transaction, transaction.Replies, policy));
        var session = await sender.SendAsync(target, policy, from, recipients, message, cancellationToken, early).ConfigureAwait(false);
        var result = session.Failure.ToString().ToLowerInvariant();
        span?.SetTag("mta.smtp.result", result);
        span?.SetTag("tls.protocol.version", session.Tls?.Version);
        span?.SetTag("mta.smtp.reused", session.Reused);
        if (session.Failure != SessionFailure.None)
        {
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, result);
        }

        MtaTelemetry.SmtpSessionDuration.Record(
            System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("mta.smtp.result", result));
        return session;
    }

    private static string? Detail(MxTlsPolicy policy, SmtpSessionResult session) =>
        session.TlsFallback is { } fallback ? $"{policy.Detail}; plaintext after opportunistic TLS failed: {fallback.Reason}"
        : session.Tls?.Verdict?.MatchedRecord is { } matched ? $"{policy.Detail}; matched {matched}"
        : policy.Detail;

    private static List<RecipientOutcome> All(IReadOnlyList<string> recipients, OutcomeKind kind, string reply) =>
        recipients.Select(r => new RecipientOutcome(r, kind, reply, null, null, null)).ToList();

    private void RecordSession(MxTlsPolicy policy, SmtpSessionResult session)
    {
        if (session.Reused)
        {
            // The TLS session was counted when the pooled connection was set up.
            return;
        }

        var host = session.Target.MxHost;
        var ip = session.Target.Address.ToString();
        if (session.TlsFallback is { } fallback)
        {
            // Opportunistic TLS failed and the message went in plaintext: the TLS failure is the session's result.
            Record(policy, host, ip, session.LocalAddress, fallback.Type, fallback.Reason);
            return;
        }

        switch (session.Failure)
        {
            case SessionFailure.Connect:
            case SessionFailure.Dropped when session.Tls is null && session.StartTlsOffered is null:
                // RFC 8460 §4.3.4: transient network errors are not TLS results.
                return;
            case SessionFailure.StartTlsNotOffered:
                Record(policy, host, ip, session.LocalAddress, TlsRptResultType.StartTlsNotSupported, "STARTTLS not offered");
                return;
            case SessionFailure.StartTlsRefused:
                Record(policy, host, ip, session.LocalAddress, TlsRptResultType.StartTlsNotSupported, session.Error);
                return;
            case SessionFailure.TlsHandshake:
                var verdict = session.Tls?.Verdict;
                Record(policy, host, ip, session.LocalAddress, verdict?.Failure ?? TlsRptResultType.ValidationFailure, verdict?.Reason ?? session.Error);
                return;
        }

        if (session.Tls is null)
        {
            // A plaintext session counts as a failure only when the server did not offer TLS at all; a
            // session that skipped TLS by our own setting is not the receiver's failure.
            if (session.StartTlsOffered == false && policy.Tls != TlsRequirement.Disabled)
            {
                Record(policy, host, ip, session.LocalAddress, TlsRptResultType.StartTlsNotSupported, "STARTTLS not offered");
            }
            else if (policy.ReportedFailure is { } known)
            {
                Record(policy, host, ip, session.LocalAddress, known.Type, known.Reason);
            }

            return;
        }

        // A policy failure known before the session (MTA-STS testing, MX not in the policy) is its result.
        // Otherwise an accepted certificate that did not verify (AllowInvalidCerts, DANE records all unusable)
        // is still a failure for TLS-RPT: the receiver should learn that its certificate does not authenticate.
        var accepted = session.Tls.Verdict;
        if (policy.ReportedFailure is { } policyFailure)
        {
            Record(policy, host, ip, session.LocalAddress, policyFailure.Type, policyFailure.Reason);
            return;
        }

        Record(policy, host, ip, session.LocalAddress, accepted?.Failure, accepted?.Failure is null ? null : accepted.Reason);
    }

    private void Record(MxTlsPolicy policy, string host, string? ip, string? local, TlsRptResultType? failure, string? reason)
    {
        if (policy.Report is { } report)
        {
            // RFC 8460 §4.4 sending-mta-ip: the public address behind NAT (Queue:Outbound:EgressIps) when set.
            recorder.Record(new TlsSessionResult(report, host, ip, ip is null ? local : settings.SendingIp(local, ip), failure, reason));
        }
    }
}

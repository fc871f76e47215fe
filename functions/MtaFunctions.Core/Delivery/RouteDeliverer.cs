using System.Net;
using MimeKit;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy;
using MtaFunctions.Core.Smtp;

namespace MtaFunctions.Core.Delivery;

/// <summary>
/// One attempt to deliver the recipients of one domain through a route's host (the relay or a per-domain next
/// hop), like Postfix's <c>relayhost = [host]:port</c>.
/// </summary>
/// <remarks>
/// Approach:
/// 1. No MX lookup: the route names the host, and its addresses are tried in order.
/// 2. The route's own TLS requirement applies (required and PKIX-verified by default); the recipient domain's
///    DANE and MTA-STS policies describe its own MX hosts, not our next hop, so they are not consulted.
/// 3. The host is the operator's choice, so private addresses are allowed (the demo sink is on loopback).
/// 4. AUTH, when configured, runs after TLS is up (SmtpSender refuses it otherwise).
/// 5. Connections count against the route's fleet-wide limit, not against any MX host.
/// 6. No TLS-RPT result is recorded (RFC 8460 §3, §4.4: results describe the policy domain's MX hosts; the next
///    hop is not the recipient domain's MX). A route naming an MX domain goes through DomainDeliverer and records
///    under that domain.
/// </remarks>
public sealed class RouteDeliverer(IDnsResolver dns, TlsPolicyResolver policies, SmtpSender sender, DestinationLimitSettings limits)
{
    /// <summary>Attempts delivery of <paramref name="recipients"/> through <paramref name="route"/>.</summary>
    public async Task<IReadOnlyList<RecipientOutcome>> DeliverAsync(
        DeliveryRoute route, IReadOnlyList<string> recipients, string from, RelayMessage message, CancellationToken cancellationToken,
        Func<IReadOnlyList<RecipientOutcome>, Task>? decided = null)
    {
        var host = route.Host ?? throw new ArgumentException("a host route", nameof(route));
        var policy = policies.ForRoute(route);
        IReadOnlyList<IPAddress> addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            var answer = await dns.QueryAddressesAsync(host, cancellationToken).ConfigureAwait(false);
            if (answer.Status != DnsStatus.Found)
            {
                return Deferred(recipients, $"451 4.4.3 {route.Name}: address lookup of {host} {answer.Status}{(answer.Error is null ? "" : $" ({answer.Error})")}", null, policy);
            }

            addresses = answer.Records;
        }

        var errors = new List<string>();
        SmtpSessionResult? last = null;
        foreach (var address in addresses)
        {
            var target = new SmtpTarget(host, address, route.Port)
            {
                ImplicitTls = route.ImplicitTls,
                Credentials = route.Username is null ? null : new NetworkCredential(route.Username, route.Password),
                Destination = $"route:{route.Name}",
                Limit = limits.For(route),
            };
            var session = await sender.SendAsync(target, policy, from, recipients, message, cancellationToken,
                decided is null ? null : transaction => decided(Outcomes(transaction, policy))).ConfigureAwait(false);
            last = session;
            if (session.Failure == SessionFailure.None)
            {
                return Outcomes(session, policy);
            }

            if (session.Failure == SessionFailure.Throttled)
            {
                return recipients.Select(r => new RecipientOutcome(r, OutcomeKind.Throttled, $"451 4.4.5 {session.Error}", session, policy.Applied, policy.Detail)).ToList();
            }

            errors.Add(session.Error ?? session.Failure.ToString());
        }

        return Deferred(recipients, $"451 4.4.1 {route.Name} ({host}:{route.Port}) could not take the message: {string.Join("; ", errors)}", last, policy);
    }

    private static List<RecipientOutcome> Outcomes(SmtpSessionResult session, MxTlsPolicy policy) =>
        session.Replies.Select(r => new RecipientOutcome(r.Recipient, DomainDeliverer.KindOf(r.Code), r.ToString(), session, policy.Applied, policy.Detail)).ToList();

    private static List<RecipientOutcome> Deferred(IReadOnlyList<string> recipients, string reply, SmtpSessionResult? session, MxTlsPolicy policy) =>
        recipients.Select(r => new RecipientOutcome(r, OutcomeKind.Temporary, reply, session, policy.Applied, policy.Detail)).ToList();
}

using System.CommandLine;
using System.Globalization;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Operations;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Tool.Verbs;

/// <summary><c>check DOMAIN</c>: the TLS posture of a destination as this MTA sees it.</summary>
public static class CheckVerb
{
    public static Command Create(VerbFactory verbs)
    {
        var domain = new Argument<string>("DOMAIN") { Description = "destination domain" };
        var json = VerbFactory.Json();
        var command = new Command(
            "check",
            "MX, A/AAAA with DNSSEC state, TLSA, MTA-STS, TLSRPT, a live SMTP probe per MX address (no mail sent), and the policy " +
            "delivery would apply and why; exit 1 when no MX host would take a message now")
        {
            domain, json,
        };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var name = DnsClientResolver.ToAscii(parse.GetRequiredValue(domain));

            // The delivery's policy resolution reads the MTA-STS cache table; a fresh account has none yet.
            await ctx.Get<StorageInitializer>().EnsureCreatedAsync(ct).ConfigureAwait(false);
            var posture = await ctx.Get<DomainPostureCheck>().CheckAsync(name, ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await ToolJson.WriteAsync(ctx.Out, posture).ConfigureAwait(false);
            }
            else
            {
                await WriteAsync(ctx.Out, posture).ConfigureAwait(false);
            }

            return posture.Verdict.Deliverable ? MtaTool.Ok : MtaTool.Failure;
        });
    }

    private static async Task WriteAsync(TextWriter o, DomainPosture p)
    {
        var inv = CultureInfo.InvariantCulture;
        await o.WriteLineAsync(p.Domain).ConfigureAwait(false);
        await o.WriteLineAsync(p.Mx.Error is not null
            ? $"  MX: {p.Mx.Error}"
            : $"  MX: {string.Join(", ", p.Mx.Hosts)}{(p.Mx.Implicit ? " (no MX record: the domain itself, RFC 5321 §5.1)" : "")}").ConfigureAwait(false);
        var sts = p.Sts.Record == "found"
            ? $"record id={p.Sts.Id}; " + (p.Sts.FetchError is not null
                ? $"policy fetch failed: {p.Sts.FetchError}"
                : string.Create(inv, $"policy mode={p.Sts.Mode} mx={string.Join(",", p.Sts.MxPatterns)} max_age={p.Sts.MaxAge}"))
            : $"{p.Sts.Record}{(p.Sts.RecordError is null ? "" : $" ({p.Sts.RecordError})")}";
        await o.WriteLineAsync($"  MTA-STS: {sts}").ConfigureAwait(false);
        await o.WriteLineAsync(p.TlsRpt.Record == "found"
            ? $"  TLSRPT: rua={string.Join(",", p.TlsRpt.Rua)}"
            : $"  TLSRPT: {p.TlsRpt.Record}{(p.TlsRpt.Error is null ? "" : $" ({p.TlsRpt.Error})")}").ConfigureAwait(false);
        foreach (var h in p.Hosts)
        {
            await o.WriteLineAsync($"  {h.Host}").ConfigureAwait(false);
            await o.WriteLineAsync(h.AddressLookup == "found"
                ? $"    addresses: {string.Join(", ", h.Addresses)} (DNSSEC {(h.DnssecSecure ? "secure" : "insecure")})"
                : $"    addresses: lookup {h.AddressLookup}").ConfigureAwait(false);
            if (h.Tlsa is { } t)
            {
                await o.WriteLineAsync($"    TLSA _25._tcp.{t.BaseDomain}: {t.Status} ({t.Reason})").ConfigureAwait(false);
                foreach (var r in t.Records)
                {
                    await o.WriteLineAsync($"      {r.Record} {(r.Usable ? "usable" : $"unusable: {r.Reason}")}").ConfigureAwait(false);
                }
            }

            if (h.Policy is { } policy)
            {
                await o.WriteLineAsync($"    policy: {policy.Applied}, STARTTLS {policy.Tls}: {policy.Detail}{(policy.Refusal is null ? "" : $"; host refused: {policy.Refusal}")}")
                    .ConfigureAwait(false);
            }

            foreach (var probe in h.Probes)
            {
                var tls = probe.TlsVersion is null
                    ? probe.StartTlsOffered == true ? "STARTTLS offered, no TLS session" : probe.StartTlsOffered == false ? "STARTTLS not offered" : "-"
                    : $"STARTTLS {probe.TlsVersion} {probe.Cipher}";
                await o.WriteLineAsync($"    [{probe.Address}] {tls}{(probe.Error is null ? "" : $"; {probe.Error}")}").ConfigureAwait(false);
                foreach (var c in probe.Chain)
                {
                    await o.WriteLineAsync(string.Create(inv, $"      cert {c.Subject} issuer {c.Issuer} valid {c.NotBefore:yyyy-MM-dd}..{c.NotAfter:yyyy-MM-dd} sha256 {c.Sha256}"))
                        .ConfigureAwait(false);
                }

                await o.WriteLineAsync($"      PKIX: {Verdict(probe.Pkix)}  DANE: {Verdict(probe.Dane)}  MTA-STS: {Verdict(probe.Sts)}").ConfigureAwait(false);
                await o.WriteLineAsync($"      delivery: {(probe.Delivery.WouldSend ? "would send" : "would not send")}: {probe.Delivery.Why}").ConfigureAwait(false);
            }
        }

        await o.WriteLineAsync(p.Verdict.Deliverable ? $"=> delivery would use {p.Verdict.Why}" : $"=> {p.Verdict.Why}").ConfigureAwait(false);
    }

    private static string Verdict(CertificateVerdictPosture? v) => v is null
        ? "n/a"
        : v.Verified
            ? v.Matched is null ? "verified" : $"verified ({v.Matched})"
            : $"fails ({v.Failure}: {v.Reason})";
}

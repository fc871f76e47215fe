using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>
/// Applies a domain's MTA-STS state to each of its MX hosts (RFC 8461 §4, §5), under the
/// <c>Queue:Outbound:Tls:MtaSts</c> setting (optional | require | disable).
/// </summary>
public sealed class MtaStsPlan
{
    private readonly PolicyMode _setting;
    private readonly ICertificateCheck _pkix;

    private MtaStsPlan(MtaStsResolution resolution, PolicyMode setting, ICertificateCheck pkix)
    {
        Resolution = resolution;
        _setting = setting;
        _pkix = pkix;
    }

    /// <summary>What the lookup, cache and fetch gave.</summary>
    public MtaStsResolution Resolution { get; }

    /// <summary>The policy as TLS-RPT reports it: policy type sts, one string per line, the mx patterns (RFC 8460 §4.4).</summary>
    public TlsRptPolicy? Report => Resolution.Policy is { } p
        ? new TlsRptPolicy(TlsRptPolicyType.Sts, Resolution.Domain, p.Lines, p.MxPatterns.Select(m => m.Text).ToList())
        : null;

    /// <summary>An unexpired policy in enforce mode is in force (RFC 8461 §5).</summary>
    public bool Enforced => Resolution.HasActivePolicy && Resolution.Policy!.Mode == MtaStsMode.Enforce;

    /// <summary>Shown by status: mode and id (stable across attempts, so pooled SMTP connections are reused).</summary>
    public string Detail => $"mta-sts mode={Resolution.Policy?.Mode.ToWire()} id={Resolution.Id}";

    /// <summary>Resolves the domain's policy; null when the setting is disable (never look).</summary>
    public static async Task<MtaStsPlan?> PrepareAsync(
        MtaStsResolver resolver, ITlsSessionRecorder recorder, ICertificateCheck pkix, string domain, PolicyMode setting,
        CancellationToken cancellationToken)
    {
        if (setting == PolicyMode.Disable)
        {
            return null;
        }

        var resolution = await resolver.ResolveAsync(domain, cancellationToken).ConfigureAwait(false);
        var plan = new MtaStsPlan(resolution, setting, pkix);

        // RFC 8461 §6: report a failed fetch once, under the cached policy if one is kept, else as an sts policy
        // without strings (what the fetch could not give).
        if (resolution.FetchFailure is { Failure: { } failure } fetch)
        {
            recorder.Record(new TlsSessionResult(
                plan.Report ?? new TlsRptPolicy(TlsRptPolicyType.Sts, resolution.Domain, [], []), "", null, null, failure, fetch.Error));
        }

        return plan;
    }

    /// <summary>The policy for <paramref name="mxHost"/>: <paramref name="baseline"/> (STARTTLS settings) changed as MTA-STS demands.</summary>
    public MxTlsPolicy ForMx(string mxHost, MxTlsPolicy baseline)
    {
        var policy = Resolution.Policy;
        if (!Resolution.HasActivePolicy)
        {
            // Seed: mta-sts = require defers destinations without a valid policy.
            return _setting == PolicyMode.Require
                ? baseline with
                {
                    Applied = "sts",
                    Detail = $"mta-sts required, none in force: {Resolution.Reason ?? "policy mode none"}",
                    Refusal = (TlsRptResultType.ValidationFailure, $"{SettingKeys.MtaSts}=require but {Resolution.Domain} has no valid MTA-STS policy ({Resolution.Reason ?? "mode none"})"),
                }
                : baseline;
        }

        var report = Report;
        var matches = policy!.Matches(mxHost);
        if (policy.Mode == MtaStsMode.Testing)
        {
            if (!matches)
            {
                // RFC 8461 §5: testing delivers anyway; the mismatch is the session's result for TLS-RPT, recorded
                // with the session's addresses once it happened (RFC 8460 §4.4 sending-mta-ip, receiving-ip).
                return baseline with
                {
                    Applied = "sts",
                    Detail = $"{Detail}; {mxHost} not in policy (testing, delivered)",
                    Report = report,
                    ReportedFailure = (TlsRptResultType.ValidationFailure, $"{mxHost} does not match the policy's mx patterns"),
                };
            }

            return baseline with { Applied = "sts", Detail = Detail, Report = report };
        }

        if (!matches)
        {
            // RFC 8461 §4.1, §5: enforce: an MX the policy does not name is not used; the next MX is tried.
            return baseline with
            {
                Applied = "sts",
                Detail = Detail,
                Report = report,
                StsEnforced = true,
                Refusal = (TlsRptResultType.ValidationFailure, $"{mxHost} does not match any mx pattern of the MTA-STS policy of {Resolution.Domain} ({string.Join(", ", policy.MxPatterns)}; enforce, id {Resolution.Id})"),
            };
        }

        // RFC 8461 §4.2, §5: enforce: STARTTLS with a PKIX-valid certificate naming the MX; AllowInvalidCerts ignored.
        return baseline with { Tls = TlsRequirement.Required, Check = _pkix, Applied = "sts", Detail = Detail, Report = report, StsEnforced = true };
    }
}

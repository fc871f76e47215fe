using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Operations;

namespace MtaFunctions.Tests.Operations;

/// <summary>The TLS posture the outbound view reads from a Deliveries row, for the classes the lab deliveries do not reach.</summary>
public sealed class OutboundTlsPostureTests
{
    [Theory]
    [InlineData(null, null, null, null, null)]
    [InlineData("mx", null, null, "none", "plaintext")]
    [InlineData("mx", "Tls13", false, "none", "encrypted")]
    [InlineData("mx", "Tls13", null, "none", "encrypted")]
    [InlineData("mx", "Tls13", true, "none", "pkix")]
    [InlineData("mx", "Tls13", true, "dane", "dane")]
    [InlineData("mx", "Tls12", true, "sts", "pkix")]
    [InlineData("mx", "Tls13", false, "dane", "encrypted")]
    public void Of_Row_Posture(string? mx, string? tls, bool? verified, string? policy, string? expected)
    {
        var row = new DeliveryRecord { MxHost = mx, TlsVersion = tls, CertificateVerified = verified, PolicyApplied = policy };

        Assert.Equal(expected, OutboundTlsPostures.Of(row)?.ToWire());
    }

    [Theory]
    [InlineData("mta-sts mode=enforce id=20260101", "sts")]
    [InlineData("mta-sts mode=enforce id=1; dane: only unusable TLSA records", "sts")]
    [InlineData("mta-sts mode=testing id=20260101", "pkix")]
    public void Of_StsRow_EnforcedOnlyCountsAsSts(string detail, string expected)
    {
        var row = new DeliveryRecord { MxHost = "mx", TlsVersion = "Tls13", CertificateVerified = true, PolicyApplied = "sts", PolicyDetail = detail };

        Assert.Equal(expected, OutboundTlsPostures.Of(row)?.ToWire());
    }

    [Fact]
    public void Build_HourBucketsAndLongReasons()
    {
        var now = new DateTimeOffset(2026, 11, 30, 12, 34, 0, TimeSpan.Zero);
        var from = now.AddHours(-2);
        DeliveryRecord Row(string state, DateTimeOffset at, string? reply = null, string rcpt = "a@x.test") =>
            new() { Recipient = rcpt, State = state, LastAttemptAt = at, LastReply = reply, MxHost = "mx", TlsVersion = "Tls13", CertificateVerified = true };
        var longReply = "451 4.3.0 " + new string('x', 400) + "\r\n more";
        var rows = new List<DeliveryRecord>
        {
            Row("Delivered", now.AddHours(-2)), // 10:34 -> the 10:00 hour
            Row("Delivered", now.AddMinutes(-1)),
            Row("Deferred", now.AddMinutes(-2), longReply, "b@Y.test"),
            Row("Deferred", now.AddMinutes(-3), longReply, "c@y.test"),
            Row("Bounced", now.AddHours(-5)), // before the range: ignored
        };

        var summary = OutboundSummaryBuilder.Build(from, now, rows, false, new OutboundQueueState(0, null, null, 0, false));

        Assert.Equal(new DateTimeOffset(2026, 11, 30, 10, 0, 0, TimeSpan.Zero), summary.From);
        Assert.Equal(["1/0", "0/0", "1/2"], summary.Hours.Select(h => $"{h.Outcomes.Delivered}/{h.Outcomes.Deferred}"));
        Assert.Equal(new OutboundOutcomes(2, 2, 0, 0), summary.Totals);
        var deferral = Assert.Single(summary.TopDeferrals);
        Assert.Equal(("y.test", 2), (deferral.Domain, deferral.Recipients));
        Assert.Equal(OutboundSummaryBuilder.MaxReasonLength + 1, deferral.Reason.Length);
        Assert.DoesNotContain('\n', deferral.Reason);
        Assert.Equal(100, summary.Tls.Shares["pkix"]);
    }
}

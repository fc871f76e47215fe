using Microsoft.Extensions.Time.Testing;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Tests.Reporting.Outbound;

public sealed class TlsSessionCounterTests
{
    private static TlsSessionResult Session(string domain, TlsRptResultType? failure = null) =>
        new(new TlsRptPolicy(TlsRptPolicyType.Sts, domain, ["version: STSv1", "mode: enforce", "mx: mx." + domain, "max_age: 86400"], ["mx." + domain]),
            "mx." + domain, "192.0.2.1", "198.51.100.7", failure, failure is null ? null : "chain");

    [Fact]
    public void Record_EqualPoliciesInNewLists_CountAsOneGroup()
    {
        using var counter = new TlsSessionCounter();
        counter.Record(Session("a.example"));
        counter.Record(Session("a.example"));
        var only = Assert.Single(counter.Peek());
        Assert.Equal(2, only.Value);
    }

    [Fact]
    public async Task Drain_WhileTasksRecord_EverySessionHandedOutOnce()
    {
        using var counter = new TlsSessionCounter();
        const int tasks = 8;
        const int perTask = 50_000;
        var drained = new List<IReadOnlyDictionary<TlsSessionKey, long>>();
        var recording = Enumerable.Range(0, tasks).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < perTask; i++)
            {
                counter.Record(Session($"d{i % 7}.example", i % 3 == 0 ? TlsRptResultType.CertificateExpired : null));
            }
        })).ToArray();
        while (!recording.All(t => t.IsCompleted))
        {
            drained.Add(counter.Drain());
            await Task.Yield();
        }

        await Task.WhenAll(recording);
        drained.Add(counter.Drain());
        Assert.Equal((long)tasks * perTask, drained.Sum(d => d.Values.Sum()));
        Assert.Equal(tasks * (perTask / 3 + 1), drained.Sum(d => d.Where(p => p.Key.Failure is not null).Sum(p => p.Value)));
        Assert.Empty(counter.Drain());
    }

    [Fact]
    public void DrainByHour_SessionsEitherSideOfAnHour_KeptApart()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 28, 23, 59, 59, TimeSpan.Zero));
        using var counter = new TlsSessionCounter(time);
        counter.Record(Session("a.example"));
        time.Advance(TimeSpan.FromSeconds(1));
        counter.Record(Session("a.example"));
        counter.Record(Session("a.example"));
        var byHour = counter.DrainByHour();
        Assert.Equal(1, byHour.Single(p => p.Key.Hour == "2026112823").Value);
        Assert.Equal(2, byHour.Single(p => p.Key.Hour == "2026112900").Value);
    }
}

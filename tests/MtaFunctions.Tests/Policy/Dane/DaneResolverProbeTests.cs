using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy.Dane;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>
/// The resolver self-probe and <c>dane check</c> (RFC 7672 §2.1.3: only a trusted validating resolver's AD
/// counts), against the lab's validating Unbound and against servers that do not validate.
/// </summary>
[Collection(DnssecLabCollection.Name)]
public sealed class DaneResolverProbeTests(DnssecLab lab)
{
    private static DaneResolverProbe Probe(IPEndPoint server, IReadOnlyList<IPEndPoint> trusted, string probeName = "test.")
    {
        var settings = new DnsSettings { Servers = [server], Timeout = TimeSpan.FromSeconds(3), TrustedValidators = trusted, DnssecProbeName = probeName };
        return new DaneResolverProbe(new DnsClientResolver(settings, settings.TrustedValidators), settings);
    }

    [Fact]
    public async Task Probe_TrustedValidatingResolver_Available()
    {
        var status = await Probe(lab.Resolver, [lab.Resolver]).ProbeAsync(TestContext.Current.CancellationToken);
        Assert.True(status.Validating, status.Message);
    }

    [Fact]
    public async Task Probe_NoTrustedValidators_UnavailableNamingTheSetting()
    {
        var status = await Probe(lab.Resolver, []).ProbeAsync(TestContext.Current.CancellationToken);
        Assert.False(status.Validating);
        Assert.Contains("DANE unavailable", status.Message, StringComparison.Ordinal);
        Assert.Contains(SettingKeys.DnsTrustedValidators, status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_ValidatingResolverNotListed_Unavailable()
    {
        var status = await Probe(lab.Resolver, [new IPEndPoint(IPAddress.Loopback, 1)]).ProbeAsync(TestContext.Current.CancellationToken);
        Assert.False(status.Validating);
    }

    [Fact]
    public async Task Probe_TrustedResolverWithoutAd_Unavailable()
    {
        using var dns = new TestDnsServer { AuthenticData = false };
        dns.Txt("signed.example.test", "v=1");
        var status = await Probe(dns.EndPoint, [dns.EndPoint], "signed.example.test").ProbeAsync(TestContext.Current.CancellationToken);
        Assert.False(status.Validating);
        Assert.Contains("without the AD flag", status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_UntrustedServerClaimingAd_NotBelieved()
    {
        using var dns = new TestDnsServer { AuthenticData = true };
        dns.Txt("signed.example.test", "v=1");
        Assert.True((await Probe(dns.EndPoint, [dns.EndPoint], "signed.example.test").ProbeAsync(TestContext.Current.CancellationToken)).Validating);
        Assert.False((await Probe(dns.EndPoint, [lab.Resolver], "signed.example.test").ProbeAsync(TestContext.Current.CancellationToken)).Validating);
    }

    [Theory]
    [InlineData(true, LogLevel.Information)]
    [InlineData(false, LogLevel.Error)]
    public async Task ProbeService_AtStartUp_LogsVerdictLoudlyWhenUnavailable(bool trusted, LogLevel expected)
    {
        var settings = new DnsSettings { Servers = [lab.Resolver], Timeout = TimeSpan.FromSeconds(3), TrustedValidators = trusted ? [lab.Resolver] : [], DnssecProbeName = "test." };
        var outbound = SettingsReader.Read(new ConfigurationBuilder().Build()).Outbound;
        var logger = new ListLogger();
        var service = new DaneResolverProbeService(new DaneResolverProbe(new DnsClientResolver(settings, settings.TrustedValidators), settings), outbound, logger);
        await service.StartAsync(TestContext.Current.CancellationToken);
        var status = await service.Completion;
        await service.StopAsync(TestContext.Current.CancellationToken);
        Assert.Equal(trusted, status!.Validating);
        Assert.Equal(expected, logger.Entries.Single().Level);
    }

    [Fact]
    public async Task ProbeService_DaneDisabledEverywhere_DoesNotProbe()
    {
        var settings = new DnsSettings { Servers = [lab.Resolver], Timeout = TimeSpan.FromSeconds(3), DnssecProbeName = "test." };
        var outbound = SettingsReader.Read(new ConfigurationBuilder().AddInMemoryCollection([new(SettingKeys.Dane, "disable")]).Build()).Outbound;
        var logger = new ListLogger();
        var service = new DaneResolverProbeService(new DaneResolverProbe(new DnsClientResolver(settings, settings.TrustedValidators), settings), outbound, logger);
        await service.StartAsync(TestContext.Current.CancellationToken);
        Assert.Null(await service.Completion);
        Assert.Empty(logger.Entries);
    }

    private sealed class ListLogger : ILogger<DaneResolverProbeService>
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception)));
    }

    [Theory]
    [InlineData(true, 0, "OK: DNSSEC validation works")]
    [InlineData(false, 1, "!!! DANE unavailable")]
    public async Task DaneCheckCommand_Resolver_ExitCodeAndLoudMessage(bool trusted, int exitCode, string expected)
    {
        var dir = Directory.CreateTempSubdirectory("dane-check").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "local.settings.json"), $$"""
            { "Values": {
                "AzureWebJobsStorage": "UseDevelopmentStorage=true",
                "Dns__Servers": "{{lab.Resolver}}",
                "Dns__TrustedValidators": "{{(trusted ? lab.Resolver.ToString() : "")}}",
                "Dns__DnssecProbeName": "test."
            } }
            """, TestContext.Current.CancellationToken);
        var run = await Tool.ToolRun.RunAsync(["dane", "check"], workingDirectory: dir);
        Assert.True(run.Exit == exitCode, run.ToString());
        Assert.StartsWith(expected, run.Out, StringComparison.Ordinal);
    }
}

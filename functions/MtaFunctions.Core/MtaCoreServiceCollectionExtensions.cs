using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MtaFunctions.Client;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Operations;
using MtaFunctions.Core.Policy;
using MtaFunctions.Core.Policy.Dane;
using MtaFunctions.Core.Policy.MtaSts;
using MtaFunctions.Core.Reporting.Inbound;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Smtp;
using MtaFunctions.Core.Storage;
using MtaFunctions.Core.Telemetry;

namespace MtaFunctions.Core;

/// <summary>Registers the engine, the same way for the Function App, LocalHost and tests.</summary>
public static class MtaCoreServiceCollectionExtensions
{
    /// <summary>
    /// Reads and checks all settings now (a bad delivery setting throws <see cref="SettingsException"/> at
    /// start-up; a bad reporting setting switches reporting off and is logged as an error) and registers
    /// every handler with its dependencies.
    /// </summary>
    public static IServiceCollection AddMtaCore(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = SettingsReader.Read(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(settings);
        services.AddSingleton(settings.Outbound);
        services.AddSingleton(settings.Dns);
        services.AddSingleton(new TrustedRoots(settings.Outbound.ExtraRootCasFile));
        services.AddSingleton(new DestinationGuard(settings.Outbound.AllowPrivateDestinations));
        services.TryAddSingleton(_ => StorageAccount.FromConfiguration(configuration));
        services.AddSingleton(sp => sp.GetRequiredService<StorageAccount>().OutboundWriter());
        services.AddSingleton(sp => new DeliveryStore(sp.GetRequiredService<StorageAccount>().Tables));
        services.AddSingleton<DeliveryRetention>();
        services.AddSingleton(sp => new PoisonQueue(sp.GetRequiredService<StorageAccount>().Queues, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IDnsResolver>(sp => new MeteredDnsResolver(settings.Dns.Dnssec == DnssecValidation.InProcess
            ? new InProcessDnssecResolver(settings.Dns)
            : new DnsClientResolver(settings.Dns, settings.Dns.TrustedValidators)));
        services.AddSingleton<TlsaLookup>();
        services.AddSingleton<DaneMxPolicyResolver>();
        services.AddSingleton<DaneResolverProbe>();
        services.AddHostedService<DaneResolverProbeService>();
        services.AddSingleton<MxResolver>();
        services.AddSingleton<TlsPolicyResolver>();
        services.AddSingleton(sp => new SmtpConnectionPool(
            sp.GetRequiredService<TimeProvider>(), settings.Outbound.ConnectionIdleTime, settings.Outbound.MaxMessagesPerConnection));
        services.AddSingleton(new InstanceIdentity());
        services.AddSingleton(sp => new DestinationLimitStore(sp.GetRequiredService<StorageAccount>().Tables));
        services.AddSingleton(sp => new DestinationLimiter(
            sp.GetRequiredService<DestinationLimitStore>(), settings.Outbound.Limits, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<InstanceIdentity>()));
        services.AddSingleton<SmtpSender>();
        services.AddSingleton<TlsSessionCounter>();
        services.AddSingleton<ITlsSessionRecorder>(sp => new MeteredTlsSessionRecorder(settings.Report.Send == TlsReportFrequency.Never
            ? NullTlsSessionRecorder.Instance
            : sp.GetRequiredService<TlsSessionCounter>()));
        services.AddTlsReporting(settings.Report);
        services.AddSingleton(settings.Outbound.Limits);
        services.AddSingleton<RouteDeliverer>();
        services.AddSingleton<DomainDeliverer>();
        services.AddSingleton<OutboundDeliveryHandler>();
        services.AddSingleton<EnvelopeClaims>();
        services.AddSingleton<InFlightMessages>();
        services.AddSingleton(sp => new InFlightStore(sp.GetRequiredService<StorageAccount>().Tables));
        services.AddHostedService<InFlightRecovery>();
        services.AddSingleton<StorageInitializer>();
        services.AddSingleton<QueueControl>();
        services.AddSingleton<OutboundSummaryReader>();
        services.AddSingleton<OutboundHttpHandler>();
        services.AddSingleton<DomainPostureCheck>();
        services.AddSingleton(sp => new StsPolicyStore(sp.GetRequiredService<StorageAccount>().Tables));
        services.AddSingleton<IMtaStsPolicyStore>(sp => sp.GetRequiredService<StsPolicyStore>());
        services.AddSingleton(new MtaStsFetchOptions(settings.Outbound.MtaStsTimeout, settings.Outbound.MtaStsPort));
        services.AddSingleton<MtaStsDiscovery>();
        services.AddSingleton<MtaStsFetcher>();
        services.AddSingleton<MtaStsPolicyCache>();
        services.AddSingleton<MtaStsResolver>();
        services.AddSingleton<MtaStsRefreshHandler>();
        services.AddMtaTlsRptInbound(settings);
        services.AddHostedService<ReportingSettingsProblemLog>();
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>Registers the inbound TLS-RPT handlers (called by <see cref="MtaCoreServiceCollectionExtensions.AddMtaCore"/>).</summary>
public static class TlsRptInboundServiceCollectionExtensions
{
    /// <summary>Registers the store, the intake, the failure-rate monitor and the HTTP handler.</summary>
    public static IServiceCollection AddMtaTlsRptInbound(this IServiceCollection services, MtaSettings settings)
    {
        services.AddSingleton(settings.TlsRptInbound);
        services.AddSingleton(sp => new ReceivedTlsReportStore(sp.GetRequiredService<StorageAccount>().Tables, sp.GetRequiredService<StorageAccount>().Blobs));
        services.AddSingleton<IReceivedTlsReportStore>(sp => sp.GetRequiredService<ReceivedTlsReportStore>());
        services.AddSingleton<FailureRateMonitor>();
        services.AddSingleton(new DecodeMemoryBudget(settings.TlsRptInbound.DecodeMemory));
        services.AddSingleton<TlsReportIntake>();
        services.AddSingleton<TlsRptHttpHandler>();
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>Registers the inbound TLS-RPT handlers (called by <see cref="MtaCoreServiceCollectionExtensions.AddMtaCore"/>).</summary>
public static class TlsRptInboundServiceCollectionExtensions
{
    /// <summary>Registers the store (and the start-up move of its first layout), the intake, the failure-rate monitor and the HTTP handler.</summary>
    public static IServiceCollection AddMtaTlsRptInbound(this IServiceCollection services, MtaSettings settings)
    {
        services.AddSingleton(settings.TlsRptInbound);
        services.AddSingleton(sp => new ReceivedTlsReportStore(sp.GetRequiredService<StorageAccount>().Tables, sp.GetRequiredService<StorageAccount>().Blobs));
        services.AddSingleton<IReceivedTlsReportStore>(sp => sp.GetRequiredService<ReceivedTlsReportStore>());
        services.AddSingleton(sp => new ReceivedTlsReportLayoutMigration(sp.GetRequiredService<StorageAccount>().Tables, sp.GetRequiredService<StorageAccount>().Blobs, sp.GetRequiredService<ILogger<ReceivedTlsReportLayoutMigration>>()));
        services.AddHostedService(sp => sp.GetRequiredService<ReceivedTlsReportLayoutMigration>());
        services.AddSingleton<FailureRateMonitor>();
        services.AddSingleton(new DecodeMemoryBudget(settings.TlsRptInbound.DecodeMemory));
        services.AddSingleton<TlsReportIntake>();
        services.AddSingleton<TlsRptHttpHandler>();
        return services;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>Registers outgoing TLS reporting (called by AddMtaCore).</summary>
public static class TlsReportingServiceCollectionExtensions
{
    /// <summary>The stores, the flusher (also as a hosted service flushing every minute and at shutdown) and the sender.</summary>
    public static IServiceCollection AddTlsReporting(this IServiceCollection services, TlsReportSettings settings)
    {
        services.AddSingleton(settings);
        services.AddSingleton(sp => new TlsResultsStore(sp.GetRequiredService<StorageAccount>().Tables));
        services.AddSingleton(sp => new SentTlsReportsStore(sp.GetRequiredService<StorageAccount>().Tables));
        services.AddSingleton<TlsResultsFlusher>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<TlsResultsFlusher>());
        services.AddSingleton<TlsReportHttpPoster>();
        services.AddSingleton<TlsReportRuaSender>();
        services.AddSingleton<TlsReportSender>();
        return services;
    }
}

/// <summary>The recorder when reports are never sent: records nothing.</summary>
public sealed class NullTlsSessionRecorder : ITlsSessionRecorder
{
    /// <summary>The one instance.</summary>
    public static NullTlsSessionRecorder Instance { get; } = new();

    /// <inheritdoc />
    public void Record(TlsSessionResult result)
    {
    }
}

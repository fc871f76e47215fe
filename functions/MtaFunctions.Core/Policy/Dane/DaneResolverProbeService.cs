using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Core.Policy.Dane;

/// <summary>Runs <see cref="DaneResolverProbe"/> once at start-up and logs the verdict (an error when DANE is unavailable).</summary>
/// <remarks>Never stops start-up: without a validating resolver mail still flows, only without DANE.</remarks>
public sealed partial class DaneResolverProbeService(DaneResolverProbe probe, OutboundSettings settings, ILogger<DaneResolverProbeService> logger) : IHostedService
{
    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (settings.Tls.Dane == PolicyMode.Disable && settings.Rules.Values.All(r => r.Dane == PolicyMode.Disable))
        {
            return;
        }

        var status = await probe.ProbeAsync(cancellationToken).ConfigureAwait(false);
        if (status.Validating)
        {
            LogAvailable(logger, status.Message);
        }
        else
        {
            LogUnavailable(logger, status.Message);
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "{Message}")]
    private static partial void LogAvailable(ILogger logger, string message);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "{Message}")]
    private static partial void LogUnavailable(ILogger logger, string message);
}

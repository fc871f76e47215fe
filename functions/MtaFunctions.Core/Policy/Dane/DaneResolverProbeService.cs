using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core.Configuration;

namespace MtaFunctions.Core.Policy.Dane;

/// <summary>Runs <see cref="DaneResolverProbe"/> once at start-up and logs the verdict (an error when DANE is unavailable).</summary>
/// <remarks>
/// Never stops or delays start-up (the probe runs in the background, bounded by <c>Dns:Timeout</c>): without a
/// validating resolver mail still flows, only without DANE. Skipped when DANE is disabled everywhere.
/// </remarks>
public sealed partial class DaneResolverProbeService(DaneResolverProbe probe, OutboundSettings settings, ILogger<DaneResolverProbeService> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>The running probe; completes when the verdict is logged. Tests await it.</summary>
    public Task<DaneResolverStatus?> Completion { get; private set; } = Task.FromResult<DaneResolverStatus?>(null);

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (settings.Tls.Dane == PolicyMode.Disable && settings.Rules.Values.All(r => r.Dane == PolicyMode.Disable))
        {
            return Task.CompletedTask;
        }

        Completion = Task.Run(ProbeAndLogAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task<DaneResolverStatus?> ProbeAndLogAsync()
    {
        try
        {
            var status = await probe.ProbeAsync(_stopping.Token).ConfigureAwait(false);
            if (status.Validating)
            {
                LogAvailable(logger, status.Message);
            }
            else
            {
                LogUnavailable(logger, status.Message);
            }

            return status;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "{Message}")]
    private static partial void LogAvailable(ILogger logger, string message);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "{Message}")]
    private static partial void LogUnavailable(ILogger logger, string message);
}

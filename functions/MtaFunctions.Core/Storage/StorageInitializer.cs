using MtaFunctions.Client;

namespace MtaFunctions.Core.Storage;

/// <summary>
/// Creates the queues, tables and containers the app uses when they are missing (local runs, tests; in
/// Azure the Bicep templates create them and this finds them there).
/// </summary>
public sealed class StorageInitializer(
    OutboundQueueWriter writer, DeliveryStore deliveries, PoisonQueue poison, StsPolicyStore stsPolicies,
    ReceivedTlsReportStore receivedTlsReports, TlsResultsStore tlsResults, SentTlsReportsStore sentTlsReports,
    DestinationLimitStore destinationLimits, InFlightStore inFlight)
{
    /// <summary>Creates everything missing.</summary>
    public async Task EnsureCreatedAsync(CancellationToken cancellationToken)
    {
        await writer.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await deliveries.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await poison.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await stsPolicies.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await receivedTlsReports.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await tlsResults.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await sentTlsReports.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await destinationLimits.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        await inFlight.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
    }
}

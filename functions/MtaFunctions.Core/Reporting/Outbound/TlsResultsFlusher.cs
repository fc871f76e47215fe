using Azure.Data.Tables;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Core.Reporting.Outbound;

/// <summary>
/// Moves the in-memory <see cref="TlsSessionCounter"/> to the TlsResults table every
/// <see cref="TlsReportDefaults.FlushInterval"/>, on every report timer tick and at shutdown.
/// </summary>
/// <remarks>
/// A drained set is turned into entities once and kept until it is written: a failed or timed-out write is
/// repeated with the same row keys and content, so a retry never double-counts (see <see cref="TlsResultsStore"/>).
/// Sessions still in memory when a process dies without shutdown are lost; that is at most one interval.
/// </remarks>
public sealed class TlsResultsFlusher(
    TlsSessionCounter counter, TlsResultsStore store, TlsReportSettings settings, TimeProvider time, ILogger<TlsResultsFlusher> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly List<IReadOnlyList<TableEntity>> _pending = [];
    private long _sequence;

    /// <summary>This process's id in row keys: unique per process start, so a restart never reuses a key.</summary>
    public string InstanceId { get; } = $"{Sanitize(Environment.MachineName)}-{Guid.NewGuid():N}";

    /// <summary>Table transactions written so far (benchmarks).</summary>
    public long Transactions { get; private set; }

    /// <summary>Writes everything counted so far; pending earlier flushes first.</summary>
    /// <returns>The number of groups written by this call.</returns>
    /// <exception cref="Azure.RequestFailedException">The table write failed; the flush stays pending for the next call.</exception>
    public async Task<int> FlushAsync(CancellationToken cancellationToken)
    {
        if (settings.Send == TlsReportFrequency.Never)
        {
            return 0;
        }

        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var drained = counter.DrainByHour();
            if (drained.Count > 0)
            {
                _pending.Add(TlsResultsStore.ToEntities(InstanceId, ++_sequence, drained));
            }

            while (_pending.Count > 0)
            {
                Transactions += await store.WriteAsync(_pending[0], cancellationToken).ConfigureAwait(false);
                _pending.RemoveAt(0);
            }

            return drained.Count;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is Azure.RequestFailedException or OperationCanceledException or IOException)
        {
            TlsReportLog.FlushFailed(logger, e);
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (settings.Send == TlsReportFrequency.Never)
        {
            return;
        }

        using var timer = new PeriodicTimer(TlsReportDefaults.FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await FlushAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is Azure.RequestFailedException or IOException)
                {
                    TlsReportLog.FlushFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: StopAsync flushes what is left.
        }
    }

    private static string Sanitize(string name)
    {
        var clean = new string(name.Where(char.IsAsciiLetterOrDigit).ToArray());
        return clean.Length == 0 ? "host" : clean.Length > 24 ? clean[..24] : clean;
    }
}

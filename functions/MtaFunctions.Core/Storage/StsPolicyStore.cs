using System.Runtime.CompilerServices;
using Azure;
using Azure.Data.Tables;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Policy.MtaSts;

namespace MtaFunctions.Core.Storage;

/// <summary>The StsPolicies table: one row per policy domain (partition = domain, row key empty).</summary>
public sealed class StsPolicyStore(TableServiceClient tables) : IMtaStsPolicyStore
{
    private readonly TableClient _table = tables.GetTableClient(StorageNames.StsPoliciesTable);
    private long _calls;

    /// <summary>Table operations so far (benchmarks).</summary>
    public long CallCount => Interlocked.Read(ref _calls);

    /// <summary>Creates the table when missing.</summary>
    public Task EnsureCreatedAsync(CancellationToken cancellationToken) => _table.CreateIfNotExistsAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        var row = await _table.GetEntityIfExistsAsync<StsPolicyRow>(domain, "", cancellationToken: cancellationToken).ConfigureAwait(false);
        return row.HasValue ? row.Value!.ToEntry() : null;
    }

    /// <inheritdoc />
    public async Task SaveAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        await _table.UpsertEntityAsync(StsPolicyRow.From(entry), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string domain, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        var response = await _table.DeleteEntityAsync(domain, "", ETag.All, cancellationToken).ConfigureAwait(false);
        return response.Status != 404;
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<CachedMtaStsPolicy> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _calls);
        await foreach (var row in _table.QueryAsync<StsPolicyRow>(cancellationToken: cancellationToken).ConfigureAwait(false))
        {
            yield return row.ToEntry();
        }
    }
}

/// <summary>One row of the StsPolicies table.</summary>
public sealed class StsPolicyRow : ITableEntity
{
    /// <summary>The policy domain.</summary>
    public string PartitionKey { get; set; } = "";

    /// <summary>Always empty: one row per domain.</summary>
    public string RowKey { get; set; } = "";

    /// <inheritdoc />
    public DateTimeOffset? Timestamp { get; set; }

    /// <inheritdoc />
    public ETag ETag { get; set; }

    /// <summary>TXT id of the cached policy; the delivery compares it with DNS to decide on a refetch.</summary>
    public string? Id { get; set; }

    /// <summary>Canonical policy text; the delivery applies it, status and TLS-RPT show its lines.</summary>
    public string? Policy { get; set; }

    /// <summary>Mode of the policy, for operators reading the table.</summary>
    public string? Mode { get; set; }

    /// <summary>Last successful fetch; the refresh timer schedules from it.</summary>
    public DateTimeOffset? FetchedAt { get; set; }

    /// <summary>FetchedAt + max_age; the delivery stops applying the policy after it.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>Id of the last failed fetch; with LastFailureAt, the 5-minute back-off of RFC 8461 §3.3.</summary>
    public string? LastFailureId { get; set; }

    /// <summary>When the last fetch failed.</summary>
    public DateTimeOffset? LastFailureAt { get; set; }

    /// <summary>Why it failed, for operators.</summary>
    public string? LastFailure { get; set; }

    internal static StsPolicyRow From(CachedMtaStsPolicy e) => new()
    {
        PartitionKey = e.Domain,
        Id = e.Id,
        Policy = e.PolicyText,
        Mode = e.Policy?.Mode.ToWire(),
        FetchedAt = e.FetchedAt,
        ExpiresAt = e.ExpiresAt,
        LastFailureId = e.LastFailureId,
        LastFailureAt = e.LastFailureAt,
        LastFailure = e.LastFailure is { Length: > 2000 } text ? text[..2000] : e.LastFailure,
    };

    internal CachedMtaStsPolicy ToEntry() =>
        new(PartitionKey, Id, Policy, FetchedAt, ExpiresAt, LastFailureId, LastFailureAt, LastFailure);
}

namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>Where cached MTA-STS policies live between runs and instances (the StsPolicies table).</summary>
public interface IMtaStsPolicyStore
{
    /// <summary>The entry of <paramref name="domain"/>, or null.</summary>
    Task<CachedMtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken);

    /// <summary>Writes (replaces) an entry.</summary>
    Task SaveAsync(CachedMtaStsPolicy entry, CancellationToken cancellationToken);

    /// <summary>Removes an entry; returns whether there was one.</summary>
    Task<bool> DeleteAsync(string domain, CancellationToken cancellationToken);

    /// <summary>Every entry (the proactive refresh walks them).</summary>
    IAsyncEnumerable<CachedMtaStsPolicy> ListAsync(CancellationToken cancellationToken);
}

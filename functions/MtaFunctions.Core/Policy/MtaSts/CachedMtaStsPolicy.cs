namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>What the cache keeps about one policy domain: the last good policy, and the last failed fetch.</summary>
/// <param name="Domain">The policy domain (lower-case A-labels).</param>
/// <param name="Id">The TXT id the policy was fetched under; a different id in DNS means refetch.</param>
/// <param name="PolicyText">The canonical policy text, null when no fetch ever succeeded.</param>
/// <param name="FetchedAt">When the policy was last fetched successfully.</param>
/// <param name="ExpiresAt">FetchedAt + max_age: the policy is applied until then (RFC 8461 §3.3, §5.1).</param>
/// <param name="LastFailureId">The TXT id of the last failed fetch (RFC 8461 §3.3 back-off is per id).</param>
/// <param name="LastFailureAt">When that fetch failed.</param>
/// <param name="LastFailure">Why, for logs and the operator.</param>
public sealed record CachedMtaStsPolicy(
    string Domain,
    string? Id,
    string? PolicyText,
    DateTimeOffset? FetchedAt,
    DateTimeOffset? ExpiresAt,
    string? LastFailureId = null,
    DateTimeOffset? LastFailureAt = null,
    string? LastFailure = null)
{
    private MtaStsPolicy? _policy;

    /// <summary>The parsed policy, or null when none was ever fetched.</summary>
    public MtaStsPolicy? Policy => PolicyText is null ? null : _policy ??= MtaStsPolicyParser.Parse(PolicyText);

    /// <summary>Whether a policy is held and has not expired at <paramref name="now"/>.</summary>
    public bool IsValidAt(DateTimeOffset now) => PolicyText is not null && ExpiresAt > now;
}

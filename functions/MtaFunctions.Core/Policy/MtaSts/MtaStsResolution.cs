namespace MtaFunctions.Core.Policy.MtaSts;

/// <summary>The MTA-STS state of a policy domain for one delivery attempt.</summary>
/// <param name="Domain">The policy domain.</param>
/// <param name="Policy">The policy to apply (live or cached and unexpired); null when none.</param>
/// <param name="Id">The id of that policy.</param>
/// <param name="FromCache">True when the policy came from the cache without a fetch in this call.</param>
/// <param name="FetchFailure">Set when this call tried a fetch and it failed (report it once, RFC 8461 §6).</param>
/// <param name="Reason">Why there is no policy, or why a cached one is applied without a live one.</param>
public sealed record MtaStsResolution(
    string Domain, MtaStsPolicy? Policy, string? Id, bool FromCache, MtaStsFetchResult? FetchFailure, string? Reason)
{
    /// <summary>A policy in enforce or testing mode applies (mode none is no policy, RFC 8461 §5).</summary>
    public bool HasActivePolicy => Policy is { Mode: not MtaStsMode.None };
}

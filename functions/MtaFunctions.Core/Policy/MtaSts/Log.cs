using Microsoft.Extensions.Logging;

namespace MtaFunctions.Core.Policy.MtaSts;

internal static partial class Log
{
    [LoggerMessage(301, LogLevel.Information, "MTA-STS policy of {Domain} fetched: id {Id}, mode {Mode}, max_age {MaxAge}")]
    public static partial void Fetched(ILogger logger, string domain, string id, string mode, long maxAge);

    [LoggerMessage(302, LogLevel.Warning, "MTA-STS policy fetch for {Domain} (id {Id}) failed: {Error}")]
    public static partial void FetchFailed(ILogger logger, string domain, string id, string error);

    [LoggerMessage(303, LogLevel.Warning, "MTA-STS refresh of {Domain} failed (cached mode {Mode}, expires {ExpiresAt:u}): {Error}")]
    public static partial void RefreshFailed(ILogger logger, string domain, string mode, DateTimeOffset? expiresAt, string error);

    [LoggerMessage(304, LogLevel.Information, "MTA-STS refresh: {Checked} cached domain(s), {Refreshed} refreshed, {Failed} failed, {Removed} removed")]
    public static partial void RefreshDone(ILogger logger, int @checked, int refreshed, int failed, int removed);
}

using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy.MtaSts;

namespace MtaFunctions.LocalHost;

/// <summary>Operator commands for MTA-STS.</summary>
public static class StsCommands
{
    /// <summary>
    /// <c>sts purge DOMAIN</c>: forgets the cached policy of a domain (a recipient moved its MX without a new
    /// policy id); the next delivery fetches the policy again.
    /// </summary>
    public static OperatorCommand Purge { get; } = new(
        "sts purge",
        "sts purge DOMAIN                forget the cached MTA-STS policy of DOMAIN",
        async (services, args, output) =>
        {
            if (args.Length != 1)
            {
                await output.WriteLineAsync("usage: sts purge DOMAIN").ConfigureAwait(false);
                return 2;
            }

            var domain = DnsClientResolver.ToAscii(args[0]);
            var removed = await services.GetRequiredService<MtaStsPolicyCache>().PurgeAsync(domain, CancellationToken.None).ConfigureAwait(false);
            await output.WriteLineAsync(removed ? $"{domain}: cached MTA-STS policy removed" : $"{domain}: no cached MTA-STS policy").ConfigureAwait(false);
            return 0;
        });
}

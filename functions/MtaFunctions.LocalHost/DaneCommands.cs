using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Policy.Dane;

namespace MtaFunctions.LocalHost;

/// <summary>Operator commands of the DANE area.</summary>
public static class DaneCommands
{
    /// <summary><c>dane check</c>: probes the configured resolver; exit code 0 when DANE is available, 1 when not.</summary>
    public static OperatorCommand Check { get; } = new(
        "dane check",
        "dane check                      probe the resolver: does it validate DNSSEC (is DANE available)?",
        async (services, _, output) =>
        {
            var status = await services.GetRequiredService<DaneResolverProbe>().ProbeAsync(CancellationToken.None).ConfigureAwait(false);
            await output.WriteLineAsync(status.Validating ? $"OK: {status.Message}" : $"!!! {status.Message}").ConfigureAwait(false);
            return status.Validating ? 0 : 1;
        });
}

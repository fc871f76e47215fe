using System.CommandLine;
using MtaFunctions.Core.Policy.Dane;

namespace MtaFunctions.Tool.Verbs;

/// <summary><c>dane check</c>: does the configured resolver validate DNSSEC (is DANE available)?</summary>
public static class DaneVerbs
{
    public static Command Create(VerbFactory verbs)
    {
        var json = VerbFactory.Json();
        var check = new Command("check", "probe the resolver of Dns__Servers: exit 0 when it validates DNSSEC (DANE available), 1 when not") { json };
        verbs.Runs(check, async (ctx, parse, ct) =>
        {
            var status = await ctx.Get<DaneResolverProbe>().ProbeAsync(ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await ToolJson.WriteAsync(ctx.Out, new { available = status.Validating, message = status.Message }).ConfigureAwait(false);
            }
            else
            {
                await ctx.Out.WriteLineAsync(status.Validating ? $"OK: {status.Message}" : $"!!! {status.Message}").ConfigureAwait(false);
            }

            return status.Validating ? MtaTool.Ok : MtaTool.Failure;
        });
        return new Command("dane", "DANE (RFC 7672)") { check };
    }
}

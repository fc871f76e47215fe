using System.CommandLine;
using System.Globalization;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy.MtaSts;

namespace MtaFunctions.Tool.Verbs;

/// <summary><c>sts show|purge DOMAIN</c>: the cached MTA-STS policy of a destination.</summary>
public static class StsVerbs
{
    public static Command Create(VerbFactory verbs) => new("sts", "cached MTA-STS policies (RFC 8461)") { Show(verbs), Purge(verbs) };

    private static Command Show(VerbFactory verbs)
    {
        var domain = new Argument<string>("DOMAIN") { Description = "policy domain" };
        var json = VerbFactory.Json();
        var command = new Command("show", "the cached policy of DOMAIN: id, mode, mx patterns, fetched, expires, last failure") { domain, json };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var name = DnsClientResolver.ToAscii(parse.GetRequiredValue(domain));
            var cached = await ctx.Get<MtaStsPolicyCache>().GetAsync(name, fromTable: true, ct).ConfigureAwait(false)
                         ?? throw new ToolFailureException($"{name}: no cached MTA-STS policy");
            var now = ctx.Get<TimeProvider>().GetUtcNow();
            if (parse.GetValue(json))
            {
                await ToolJson.WriteAsync(ctx.Out, new
                {
                    domain = cached.Domain,
                    id = cached.Id,
                    policy = cached.PolicyText,
                    mode = cached.Policy?.Mode.ToString().ToLowerInvariant(),
                    mx = cached.Policy?.MxPatterns.Select(p => p.ToString()),
                    maxAge = cached.Policy?.MaxAgeSeconds,
                    fetchedAt = cached.FetchedAt,
                    expiresAt = cached.ExpiresAt,
                    valid = cached.IsValidAt(now),
                    lastFailureId = cached.LastFailureId,
                    lastFailureAt = cached.LastFailureAt,
                    lastFailure = cached.LastFailure,
                }).ConfigureAwait(false);
                return MtaTool.Ok;
            }

            var inv = CultureInfo.InvariantCulture;
            await ctx.Out.WriteLineAsync($"{cached.Domain}: id={cached.Id ?? "-"} {(cached.IsValidAt(now) ? "valid" : "expired or never fetched")}").ConfigureAwait(false);
            if (cached.Policy is { } policy)
            {
                await ctx.Out.WriteLineAsync(string.Create(inv, $"  mode={policy.Mode.ToString().ToLowerInvariant()} max_age={policy.MaxAgeSeconds} mx={string.Join(',', policy.MxPatterns)}")).ConfigureAwait(false);
                await ctx.Out.WriteLineAsync(string.Create(inv, $"  fetched {cached.FetchedAt:u}, applied until {cached.ExpiresAt:u}")).ConfigureAwait(false);
            }

            if (cached.LastFailure is not null)
            {
                await ctx.Out.WriteLineAsync(string.Create(inv, $"  last failed fetch {cached.LastFailureAt:u} (id {cached.LastFailureId}): {cached.LastFailure}")).ConfigureAwait(false);
            }

            return MtaTool.Ok;
        });
    }

    private static Command Purge(VerbFactory verbs)
    {
        var domain = new Argument<string>("DOMAIN") { Description = "policy domain" };
        var command = new Command("purge", "forget the cached policy of DOMAIN (it moved its MX without a new id); the next delivery fetches again") { domain };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var name = DnsClientResolver.ToAscii(parse.GetRequiredValue(domain));
            var removed = await ctx.Get<MtaStsPolicyCache>().PurgeAsync(name, ct).ConfigureAwait(false);
            await ctx.Out.WriteLineAsync(removed ? $"{name}: cached MTA-STS policy removed" : $"{name}: no cached MTA-STS policy").ConfigureAwait(false);
            return MtaTool.Ok;
        });
    }
}

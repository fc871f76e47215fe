using System.CommandLine;
using System.Globalization;
using MtaFunctions.Core.Operations;

namespace MtaFunctions.Tool.Verbs;

/// <summary><c>queue list|show|retry|cancel</c>: what waits for delivery, and steering it.</summary>
public static class QueueVerbs
{
    public static Command Create(VerbFactory verbs) => new("queue", "the outbound queue: queued and deferred messages")
    {
        List(verbs), Show(verbs), Retry(verbs), Cancel(verbs),
    };

    private static Command List(VerbFactory verbs)
    {
        var json = VerbFactory.Json();
        var command = new Command("list", "queued (visible, at most the 32 a peek returns) and every deferred message, per destination") { json };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var entries = await ctx.Get<QueueControl>().ListAsync(ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await ToolJson.WriteAsync(ctx.Out, entries).ConfigureAwait(false);
                return MtaTool.Ok;
            }

            var now = ctx.Get<TimeProvider>().GetUtcNow();
            await ctx.Out.WriteLineAsync($"{"ID",-34} {"DOMAIN",-28} {"STATE",-9} {"TRIES",5} {"AGE",8} {"NEXT ATTEMPT",-20} {"MX",-28} LAST REPLY").ConfigureAwait(false);
            foreach (var e in entries)
            {
                await ctx.Out.WriteLineAsync(Line(e, now)).ConfigureAwait(false);
            }

            if (entries.Count == 0)
            {
                await ctx.Out.WriteLineAsync("(queue empty)").ConfigureAwait(false);
            }

            return MtaTool.Ok;
        });
    }

    private static Command Show(VerbFactory verbs)
    {
        var id = new Argument<string>("ID") { Description = "message id" };
        var json = VerbFactory.Json();
        var command = new Command("show", "one message: every recipient's state and its visible queue entries") { id, json };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var messageId = parse.GetRequiredValue(id);
            var (rows, queued) = await ctx.Get<QueueControl>().ShowAsync(messageId, ct).ConfigureAwait(false);
            if (rows.Count == 0 && queued.Count == 0)
            {
                throw new ToolFailureException($"unknown message id '{messageId}': no delivery state and not on the visible queue");
            }

            if (parse.GetValue(json))
            {
                await ToolJson.WriteAsync(ctx.Out, new { id = messageId, recipients = rows, queued }).ConfigureAwait(false);
                return MtaTool.Ok;
            }

            var now = ctx.Get<TimeProvider>().GetUtcNow();
            foreach (var e in queued)
            {
                await ctx.Out.WriteLineAsync(Line(e, now)).ConfigureAwait(false);
            }

            foreach (var row in rows)
            {
                await ctx.Out.WriteLineAsync(SendVerbs.FormatStatus(row)).ConfigureAwait(false);
            }

            return MtaTool.Ok;
        });
    }

    private static Command Retry(VerbFactory verbs)
    {
        var id = new Argument<string?>("ID") { Description = "message id", Arity = ArgumentArity.ZeroOrOne };
        var domain = new Option<string?>("--domain") { Description = "every deferred message to this destination domain", HelpName = "DOMAIN" };
        var all = new Option<bool>("--all-deferred") { Description = "every deferred message" };
        var command = new Command("retry", "attempt deferred messages now instead of at their scheduled time") { id, domain, all };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var (messageId, d, everything) = (parse.GetValue(id), parse.GetValue(domain), parse.GetValue(all));
            if ((messageId is null ? 0 : 1) + (d is null ? 0 : 1) + (everything ? 1 : 0) != 1)
            {
                throw new ToolUsageException("retry takes exactly one of ID, --domain DOMAIN, --all-deferred");
            }

            var results = await ctx.Get<QueueControl>().RetryAsync(messageId, d?.ToLowerInvariant(), ct).ConfigureAwait(false);
            if (results.Count == 0)
            {
                throw new ToolFailureException("no deferred message matches");
            }

            foreach (var r in results)
            {
                await ctx.Out.WriteLineAsync($"{r.MessageId} {r.Domain}: {Describe(r.Result)}").ConfigureAwait(false);
            }

            return results.Any(r => r.Result == "visible-now") ? MtaTool.Ok : MtaTool.Failure;
        });
    }

    private static Command Cancel(VerbFactory verbs)
    {
        var id = new Argument<string>("ID") { Description = "message id" };
        var drop = new Option<bool>("--drop") { Description = "end the recipients without a DSN (default: bounce, a DSN goes to the sender)" };
        var command = new Command("cancel", "stop delivering a deferred message: its waiting recipients are bounced (DSN) or, with --drop, dropped") { id, drop };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var messageId = parse.GetRequiredValue(id);
            var dropping = parse.GetValue(drop);
            var results = await ctx.Get<QueueControl>().CancelAsync(messageId, dropping, ct).ConfigureAwait(false);
            if (results.Count == 0)
            {
                throw new ToolFailureException(
                    $"'{messageId}' has no deferred recipient to cancel (unknown id, every recipient final, or not attempted yet)");
            }

            var how = dropping ? "dropped without a DSN" : "bounced: a DSN goes to the sender";
            foreach (var r in results)
            {
                await ctx.Out.WriteLineAsync($"{r.MessageId} {r.Domain}: cancelled, {how}; {Describe(r.Result)}").ConfigureAwait(false);
            }

            return MtaTool.Ok;
        });
    }

    private static string Describe(string result) => result switch
    {
        "visible-now" => "queued for an attempt now",
        "gone" => "its retry is already being processed or gone",
        _ => "no retry receipt recorded: takes effect at its scheduled attempt",
    };

    private static string Line(QueueEntry e, DateTimeOffset now)
    {
        var inv = CultureInfo.InvariantCulture;
        var age = e.QueuedAt is { } q ? Age(now - q) : "-";
        var next = e.State == "queued" ? "now" : e.NextAttemptAt?.ToString("u", inv) ?? "-";
        var cancel = e.CancelRequested is null ? "" : $" [cancel: {e.CancelRequested}]";
        return string.Create(inv, $"{e.MessageId,-34} {e.Domain,-28} {e.State,-9} {e.Attempts,5} {age,8} {next,-20} {e.MxHost ?? "-",-28} {e.LastReply}{cancel}");
    }

    private static string Age(TimeSpan t) => t.TotalDays >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalDays}d{t.Hours}h")
        : t.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes}m")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}m{t.Seconds}s");
}

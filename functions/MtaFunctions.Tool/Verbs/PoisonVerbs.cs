using System.CommandLine;
using System.Globalization;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Tool.Verbs;

/// <summary><c>poison list|show|requeue</c>: payloads that could not be delivered, with why.</summary>
public static class PoisonVerbs
{
    public static Command Create(VerbFactory verbs) => new("poison", "the outbound-poison queue: payloads that could never be delivered")
    {
        List(verbs), Show(verbs), Requeue(verbs),
    };

    private static Command List(VerbFactory verbs)
    {
        var json = VerbFactory.Json();
        var command = new Command("list", "every poisoned payload: queue id, envelope id, when, reason") { json };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var entries = await ctx.Get<PoisonQueue>().ListAsync(ct).ConfigureAwait(false);
            if (parse.GetValue(json))
            {
                await ToolJson.WriteAsync(ctx.Out, entries.Select(Summary)).ConfigureAwait(false);
                return MtaTool.Ok;
            }

            foreach (var e in entries)
            {
                await ctx.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{e.QueueMessageId}  {e.EnvelopeId ?? "-",-34} {e.Record?.FailedAt ?? e.InsertedOn:u}  {e.Record?.Reason ?? "(not wrapped: no reason recorded)"}")).ConfigureAwait(false);
            }

            if (entries.Count == 0)
            {
                await ctx.Out.WriteLineAsync("(poison queue empty)").ConfigureAwait(false);
            }

            return MtaTool.Ok;
        });
    }

    private static Command Show(VerbFactory verbs)
    {
        var id = new Argument<string>("ID") { Description = "poison queue message id or envelope id" };
        var json = VerbFactory.Json();
        var command = new Command("show", "one poisoned payload in full: reason, when, dequeue count, payload") { id, json };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var wanted = parse.GetRequiredValue(id);
            var entry = (await ctx.Get<PoisonQueue>().ListAsync(ct).ConfigureAwait(false)).FirstOrDefault(e => e.Matches(wanted))
                        ?? throw new ToolFailureException($"no poisoned payload with id '{wanted}'");
            if (parse.GetValue(json))
            {
                await ToolJson.WriteAsync(ctx.Out, new { summary = Summary(entry), payload = entry.Payload }).ConfigureAwait(false);
                return MtaTool.Ok;
            }

            await ctx.Out.WriteLineAsync($"queue id:      {entry.QueueMessageId}").ConfigureAwait(false);
            await ctx.Out.WriteLineAsync($"envelope id:   {entry.EnvelopeId ?? "-"}").ConfigureAwait(false);
            await ctx.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"failed at:     {entry.Record?.FailedAt ?? entry.InsertedOn:u}")).ConfigureAwait(false);
            await ctx.Out.WriteLineAsync($"dequeue count: {entry.Record?.DequeueCount.ToString(CultureInfo.InvariantCulture) ?? "-"}").ConfigureAwait(false);
            await ctx.Out.WriteLineAsync($"reason:        {entry.Record?.Reason ?? "(not wrapped: no reason recorded)"}").ConfigureAwait(false);
            await ctx.Out.WriteLineAsync("payload:").ConfigureAwait(false);
            await ctx.Out.WriteLineAsync(entry.Payload).ConfigureAwait(false);
            return MtaTool.Ok;
        });
    }

    private static Command Requeue(VerbFactory verbs)
    {
        var id = new Argument<string>("ID") { Description = "poison queue message id or envelope id" };
        var command = new Command("requeue", "put a poisoned payload back on the outbound queue, unchanged (refused when it is not a valid envelope)") { id };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var wanted = parse.GetRequiredValue(id);
            PoisonEntry? entry;
            try
            {
                entry = await ctx.Get<PoisonQueue>().RequeueAsync(wanted, ctx.Storage.Queues.GetQueueClient(StorageNames.OutboundQueue), ct).ConfigureAwait(false);
            }
            catch (EnvelopeFormatException e)
            {
                throw new ToolFailureException($"'{wanted}' stays in the poison queue: it would be poisoned again ({e.Message})");
            }

            if (entry is null)
            {
                throw new ToolFailureException($"no poisoned payload with id '{wanted}'");
            }

            await ctx.Out.WriteLineAsync($"{entry.EnvelopeId ?? entry.QueueMessageId}: back on the outbound queue").ConfigureAwait(false);
            return MtaTool.Ok;
        });
    }

    private static object Summary(PoisonEntry e) => new
    {
        queueMessageId = e.QueueMessageId,
        envelopeId = e.EnvelopeId,
        failedAt = e.Record?.FailedAt ?? e.InsertedOn,
        dequeueCount = e.Record?.DequeueCount,
        reason = e.Record?.Reason,
    };
}

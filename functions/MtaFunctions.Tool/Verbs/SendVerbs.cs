using System.CommandLine;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Operations;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Tool.Verbs;

/// <summary><c>send</c> and <c>status</c>: what a producer does, from the shell.</summary>
public static class SendVerbs
{
    public static Command Send(VerbFactory verbs)
    {
        var from = new Option<string>("--from") { Description = "envelope sender (MAIL FROM)", Required = true, HelpName = "SENDER" };
        var to = new Option<string[]>("--to") { Description = "envelope recipient (RCPT TO); repeat for more", Required = true, HelpName = "RCPT" };
        var file = new Argument<string>("FILE") { Description = "the RFC 5322 message (.eml), sent byte for byte" };
        var command = new Command("send", "queue a message for delivery; prints its id") { from, to, file };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var path = Path.GetFullPath(parse.GetRequiredValue(file), ctx.Env.WorkingDirectory);
            if (!File.Exists(path))
            {
                throw new ToolUsageException($"FILE '{path}' does not exist");
            }

            var client = ctx.Client;
            await using var stream = File.OpenRead(path);
            await client.EnsureCreatedAsync(ct).ConfigureAwait(false);
            var id = await client.SendAsync(stream, parse.GetRequiredValue(from), parse.GetRequiredValue(to), ct).ConfigureAwait(false);
            await ctx.Out.WriteLineAsync(id).ConfigureAwait(false);
            return MtaTool.Ok;
        });
    }

    public static Command Status(VerbFactory verbs)
    {
        var id = new Argument<string>("ID") { Description = "the message id printed by send" };
        var json = VerbFactory.Json();
        var command = new Command("status", "each recipient's delivery state; an unknown id exits 1") { id, json };
        return verbs.Runs(command, async (ctx, parse, ct) =>
        {
            var messageId = parse.GetRequiredValue(id);
            var report = await StatusReport.ReadAsync(ctx, messageId, ct).ConfigureAwait(false)
                         ?? throw new ToolFailureException(
                             $"unknown message id '{messageId}': no delivery state, not on the visible queue, not in the poison queue");
            if (parse.GetValue(json))
            {
                await ToolJson.WriteAsync(ctx.Out, report).ConfigureAwait(false);
                return MtaTool.Ok;
            }

            switch (report.State)
            {
                case "poisoned":
                    await ctx.Out.WriteLineAsync($"{messageId}: poisoned (will not be delivered): {report.PoisonReason}").ConfigureAwait(false);
                    break;
                case "queued":
                    await ctx.Out.WriteLineAsync($"{messageId}: queued, no attempt finished yet").ConfigureAwait(false);
                    break;
            }

            foreach (var row in report.Recipients)
            {
                await ctx.Out.WriteLineAsync(FormatStatus(row)).ConfigureAwait(false);
            }

            return MtaTool.Ok;
        });
    }

    internal static string FormatStatus(DeliveryRecord row)
    {
        var tls = row.TlsVersion is null ? "plaintext" : $"{row.TlsVersion} {row.TlsCipher}";
        var cert = row.CertificateSubject is null ? "" : $" cert=\"{row.CertificateSubject}\" verified={(row.CertificateVerified == true ? "yes" : "no")}";
        var next = row.NextAttemptAt is { } n ? $" next={n:u}" : "";
        var detail = row.PolicyDetail is null ? "" : $" ({row.PolicyDetail})";
        var cancel = row.CancelRequested is null ? "" : $" cancelled={row.CancelRequested}";
        return $"{row.Recipient}: {row.State.ToLowerInvariant()} attempts={row.Attempts}{next} mx={row.MxHost ?? "-"} ip={row.RemoteIp ?? "-"} " +
               $"tls={tls}{cert} policy={row.PolicyApplied ?? "-"}{detail}{cancel} reply=\"{row.LastReply}\"";
    }
}

/// <summary>What <c>status</c> knows about one message.</summary>
/// <param name="Id">The message id.</param>
/// <param name="State"><c>attempted</c> (rows below), <c>queued</c> (on the queue, no attempt finished) or <c>poisoned</c>.</param>
/// <param name="PoisonReason">Why it was poisoned.</param>
/// <param name="Recipients">Per recipient state rows.</param>
public sealed record StatusReport(string Id, string State, string? PoisonReason, IReadOnlyList<DeliveryRecord> Recipients)
{
    /// <summary>Reads the state of <paramref name="id"/>; null when the id is known nowhere.</summary>
    public static async Task<StatusReport?> ReadAsync(ToolContext ctx, string id, CancellationToken ct)
    {
        var rows = await ctx.Client.GetStatusAsync(id, ct).ConfigureAwait(false);

        // A poisoned message also has rows (each recipient failed with the reason): the poison entry decides.
        var poisoned = rows.Count > 0 && rows.Any(r => r.LastReply?.StartsWith("poisoned: ", StringComparison.Ordinal) != true)
            ? null
            : (await ctx.Get<PoisonQueue>().ListAsync(ct).ConfigureAwait(false)).FirstOrDefault(p => p.EnvelopeId == id);
        if (poisoned is not null)
        {
            return new StatusReport(id, "poisoned", poisoned.Record?.Reason ?? "(no reason recorded)", rows);
        }

        if (rows.Count > 0)
        {
            return new StatusReport(id, "attempted", null, rows);
        }

        var (_, queued) = await ctx.Get<QueueControl>().ShowAsync(id, ct).ConfigureAwait(false);
        return queued.Count > 0 ? new StatusReport(id, "queued", null, rows) : null;
    }
}

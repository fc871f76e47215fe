using System.Text.Json;
using MtaFunctions.Client.Contract;

namespace MtaFunctions.Client;

/// <summary>
/// The producer CLI: <c>send --from A --to B [--to C] FILE.eml</c> and <c>status ID</c>.
/// </summary>
/// <remarks>
/// The storage connection string comes from <c>--connection-string</c>, else the <c>AzureWebJobsStorage</c>
/// environment variable, else <c>Values.AzureWebJobsStorage</c> of a <c>local.settings.json</c> in the
/// current directory.
/// </remarks>
public static class Cli
{
    private const string Usage = """
        usage:
          mta send --from SENDER --to RCPT [--to RCPT ...] FILE.eml   queue a message; prints its id
          mta status ID                                            each recipient's delivery state
        options:
          --connection-string CS   storage account (default: $AzureWebJobsStorage or local.settings.json)
        """;

    /// <summary>Runs the CLI; returns the process exit code (0 ok, 1 failure, 2 usage).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        try
        {
            var parsed = CliArguments.Parse(args);
            var client = new MtaClient(parsed.ConnectionString ?? ResolveConnectionString());
            if (parsed.Command is not ("send" or "status"))
            {
                throw new CliUsageException($"unknown command '{parsed.Command}'");
            }

            switch (parsed.Command)
            {
                case "send":
                    var from = parsed.From ?? throw new CliUsageException("send needs --from");
                    if (parsed.To.Count == 0)
                    {
                        throw new CliUsageException("send needs at least one --to");
                    }

                    await using (var file = File.OpenRead(parsed.Single("FILE.eml")))
                    {
                        await client.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
                        var id = await client.SendAsync(file, from, parsed.To, cancellationToken).ConfigureAwait(false);
                        await output.WriteLineAsync(id).ConfigureAwait(false);
                    }

                    return 0;
                case "status":
                    var rows = await client.GetStatusAsync(parsed.Single("ID"), cancellationToken).ConfigureAwait(false);
                    if (rows.Count == 0)
                    {
                        await output.WriteLineAsync("no attempt recorded yet (queued, or unknown id)").ConfigureAwait(false);
                        return 0;
                    }

                    foreach (var row in rows)
                    {
                        await output.WriteLineAsync(FormatStatus(row)).ConfigureAwait(false);
                    }

                    return 0;
                default:
                    throw new CliUsageException($"unknown command '{parsed.Command}'");
            }
        }
        catch (CliUsageException e)
        {
            await error.WriteLineAsync($"mta: {e.Message}\n{Usage}").ConfigureAwait(false);
            return 2;
        }
        catch (Exception e) when (e is EnvelopeFormatException or IOException or Azure.RequestFailedException or UnauthorizedAccessException or FormatException)
        {
            await error.WriteLineAsync($"mta: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    internal static string FormatStatus(DeliveryRecord row)
    {
        var tls = row.TlsVersion is null ? "plaintext" : $"{row.TlsVersion} {row.TlsCipher}";
        var cert = row.CertificateSubject is null ? "" : $" cert=\"{row.CertificateSubject}\" verified={(row.CertificateVerified == true ? "yes" : "no")}";
        var next = row.NextAttemptAt is { } n ? $" next={n:u}" : "";
        var detail = row.PolicyDetail is null ? "" : $" ({row.PolicyDetail})";
        return $"{row.Recipient}: {row.State.ToLowerInvariant()} attempts={row.Attempts}{next} mx={row.MxHost ?? "-"} ip={row.RemoteIp ?? "-"} " +
               $"tls={tls}{cert} policy={row.PolicyApplied ?? "-"}{detail} reply=\"{row.LastReply}\"";
    }

    private static string ResolveConnectionString()
    {
        var fromEnv = Environment.GetEnvironmentVariable(StorageNames.ConnectionSetting);
        if (!string.IsNullOrWhiteSpace(fromEnv))
        {
            return fromEnv;
        }

        if (File.Exists("local.settings.json"))
        {
            using var doc = JsonDocument.Parse(File.ReadAllText("local.settings.json"));
            if (doc.RootElement.TryGetProperty("Values", out var values)
                && values.TryGetProperty(StorageNames.ConnectionSetting, out var cs)
                && cs.GetString() is { Length: > 0 } value)
            {
                return value;
            }
        }

        throw new CliUsageException($"no storage connection string: pass --connection-string or set {StorageNames.ConnectionSetting}");
    }
}

/// <summary>The command line was not understood.</summary>
public sealed class CliUsageException(string message) : Exception(message);

internal sealed record CliArguments(string Command, string? From, List<string> To, List<string> Positional, string? ConnectionString)
{
    public static CliArguments Parse(string[] args)
    {
        string? from = null, cs = null;
        var to = new List<string>();
        var positional = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new CliUsageException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--from": from = Next(); break;
                case "--to": to.Add(OneRecipient(Next())); break;
                case "--connection-string": cs = Next(); break;
                case var o when o.StartsWith("--", StringComparison.Ordinal): throw new CliUsageException($"unknown option {o}");
                default: positional.Add(args[i]); break;
            }
        }

        if (positional.Count == 0)
        {
            throw new CliUsageException("no command");
        }

        return new CliArguments(positional[0], from, to, positional[1..], cs);
    }

    // Repeated --to, never a list: "a@x,b@y" would be one malformed address to the SMTP server.
    private static string OneRecipient(string value) =>
        value.Contains(',', StringComparison.Ordinal) || value.Contains(';', StringComparison.Ordinal)
            ? throw new CliUsageException($"--to '{value}': one recipient per --to; repeat --to for each recipient (a comma or semicolon list is not accepted)")
            : value;

    public string Single(string name) => Positional.Count == 1
        ? Positional[0]
        : throw new CliUsageException($"{Command} takes exactly one {name}");
}

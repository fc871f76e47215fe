using System.CommandLine;
using System.CommandLine.Help;
using Azure;
using Azure.Identity;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Tool.Verbs;

namespace MtaFunctions.Tool;

/// <summary>
/// The <c>mta</c> command line: every verb with <c>--help</c>; exit codes 0 ok, 1 failure, 2 usage.
/// </summary>
public static class MtaTool
{
    /// <summary>Exit code: done.</summary>
    public const int Ok = 0;

    /// <summary>Exit code: the verb ran and failed (unknown id, storage refused, DANE unavailable, ...).</summary>
    public const int Failure = 1;

    /// <summary>Exit code: the command line or a setting is wrong.</summary>
    public const int Usage = 2;

    /// <summary>Parses and runs <paramref name="args"/>.</summary>
    public static async Task<int> RunAsync(string[] args, ToolEnvironment env, CancellationToken cancellationToken = default)
    {
        var verbs = new VerbFactory(env);
        // A plain command named "mta" (a RootCommand takes the host executable's name, which under dotnet run or a test is not mta).
        var root = new Command("mta", "Operate MtaFunctions: send and follow mail, steer the queue, check a destination's TLS posture.")
        {
            new HelpOption(), new VersionOption(),
            verbs.SettingsFile, verbs.Set, verbs.ConnectionString, verbs.Account,
            SendVerbs.Send(verbs), SendVerbs.Status(verbs), QueueVerbs.Create(verbs), PoisonVerbs.Create(verbs),
            StsVerbs.Create(verbs), DaneVerbs.Create(verbs), TlsRptVerbs.Create(verbs), CheckVerb.Create(verbs),
        };
        var parse = root.Parse(args);
        var invocation = new InvocationConfiguration { Output = env.Out, Error = env.Error, EnableDefaultExceptionHandler = false };
        if (parse.Errors.Count > 0 && parse.Action is not HelpAction)
        {
            foreach (var error in parse.Errors)
            {
                await env.Error.WriteLineAsync($"mta: {error.Message}").ConfigureAwait(false);
            }

            await env.Error.WriteLineAsync($"Run '{string.Join(' ', Path(parse.CommandResult.Command, root))} --help' for usage.").ConfigureAwait(false);
            return Usage;
        }

        return await parse.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
    }

    private static IEnumerable<string> Path(Command command, Command root)
    {
        var words = new List<string>();
        for (var c = command; c is not null && c != root; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            words.Insert(0, c.Name);
        }

        return ["mta", .. words];
    }

    /// <summary>Maps what a verb threw to the message and exit code the operator gets.</summary>
    internal static async Task<int> ReportAsync(Exception e, TextWriter error)
    {
        if (e is AggregateException { InnerExceptions.Count: > 0 } aggregate)
        {
            // The storage SDK's retries end in one of these: the last attempt's failure says what is wrong.
            e = aggregate.InnerExceptions[^1];
        }

        var (code, message) = e switch
        {
            ToolUsageException or SettingsException => (Usage, e.Message),
            ToolFailureException => (Failure, e.Message),
            EnvelopeFormatException => (Failure, e.Message),
            RequestFailedException { Status: 0 } r => (Failure, $"storage unreachable: {FirstLine(r.Message)}"),
            RequestFailedException r => (Failure, $"storage refused the request ({r.Status} {r.ErrorCode}): {FirstLine(r.Message)}"),
            AuthenticationFailedException or CredentialUnavailableException => (Failure, $"no Entra ID token for the storage account: {FirstLine(e.Message)}"),
            IOException or UnauthorizedAccessException or HttpRequestException or FormatException => (Failure, e.Message),
            _ => (Failure, $"unexpected {e.GetType().Name}: {e.Message}"),
        };
        await error.WriteLineAsync($"mta: {message}").ConfigureAwait(false);
        return code;
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();
}

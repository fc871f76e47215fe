using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace MtaFunctions.LocalHost;

/// <summary>One operator command: <c>mtafunctions NAME args...</c>.</summary>
/// <param name="Name">Command words, e.g. "sts purge".</param>
/// <param name="Usage">One usage line.</param>
/// <param name="RunAsync">Runs it with the app's services and the remaining arguments; returns the exit code.</param>
public sealed record OperatorCommand(string Name, string Usage, Func<IServiceProvider, string[], TextWriter, Task<int>> RunAsync);

/// <summary>
/// Operator commands, run with the same settings and services as the app (purge a cached policy, check the
/// resolver, show pending TLS reports, ...). Each area registers its commands in <see cref="Commands"/>.
/// </summary>
public static class OperatorCli
{
    /// <summary>Every command; areas add theirs here.</summary>
    public static IReadOnlyList<OperatorCommand> Commands { get; } =
    [
        StsCommands.Purge,
        DaneCommands.Check,
        TlsRptCommands.Pending,
    ];

    /// <summary>Dispatches <paramref name="args"/> to the command whose words they start with.</summary>
    public static async Task<int> RunAsync(string[] args, string settingsDirectory, TextWriter output, TextWriter error)
    {
        var match = Commands
            .Select(c => (Command: c, Words: c.Name.Split(' ')))
            .Where(c => c.Words.Length <= args.Length && c.Words.SequenceEqual(args.Take(c.Words.Length), StringComparer.OrdinalIgnoreCase))
            .OrderByDescending(c => c.Words.Length)
            .FirstOrDefault();
        if (match.Command is null)
        {
            await error.WriteLineAsync($"mtafunctions: unknown command '{string.Join(' ', args)}'. Commands:").ConfigureAwait(false);
            foreach (var c in Commands)
            {
                await error.WriteLineAsync($"  {c.Usage}").ConfigureAwait(false);
            }

            await error.WriteLineAsync("  (no arguments, or --Key=value only: run the app)").ConfigureAwait(false);
            return 2;
        }

        using var host = LocalHostBuilder.Build([], settingsDirectory);
        return await match.Command.RunAsync(host.Services, args[match.Words.Length..], output).ConfigureAwait(false);
    }
}

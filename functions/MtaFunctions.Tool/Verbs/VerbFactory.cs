using System.CommandLine;

namespace MtaFunctions.Tool.Verbs;

/// <summary>The options every verb takes, and the run wrapper that builds the app's services for a verb.</summary>
public sealed class VerbFactory(ToolEnvironment env)
{
    public Option<string?> SettingsFile { get; } = new("--settings")
    {
        Description = "local.settings.json to read (default: ./local.settings.json, else ./functions/MtaFunctions/local.settings.json)",
        HelpName = "FILE",
        Recursive = true,
    };

    public Option<string[]> Set { get; } = new("--set")
    {
        Description = "a setting, as in app settings (Queue__Outbound__Tls__Dane=require); repeatable, wins over file and environment",
        HelpName = "Key=value",
        Recursive = true,
        DefaultValueFactory = _ => [],
    };

    public Option<string?> ConnectionString { get; } = new("--connection-string")
    {
        Description = "storage connection string (default: AzureWebJobsStorage of the settings)",
        HelpName = "CS",
        Recursive = true,
    };

    public Option<string?> Account { get; } = new("--account")
    {
        Description = "storage account name, reached with Entra ID (DefaultAzureCredential: az login, managed identity, ...)",
        HelpName = "NAME",
        Recursive = true,
    };

    /// <summary>The --json option of read verbs.</summary>
    public static Option<bool> Json() => new("--json") { Description = "print JSON instead of text" };

    /// <summary>Sets <paramref name="command"/>'s action: build the services, run, map failures to exit codes.</summary>
    public Command Runs(Command command, Func<ToolContext, ParseResult, CancellationToken, Task<int>> run)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var configuration = ToolSettings.Build(
                    env, parse.GetValue(SettingsFile), parse.GetValue(Set) ?? [], parse.GetValue(ConnectionString), parse.GetValue(Account));
                await using var context = ToolContext.Create(env, configuration);
                return await run(context, parse, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                return await MtaTool.ReportAsync(e, env.Error).ConfigureAwait(false);
            }
        });
        return command;
    }
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;
using MtaFunctions.LocalHost;

// LocalHost: the Function App's handlers on the WebJobs SDK, for machines without Azure Functions Core Tools.
// Settings come from local.settings.json in the current directory (as func start reads them), the environment
// and --Key=value arguments. Operator commands live in the `mta` tool (functions/MtaFunctions.Tool).
try
{
    if (args.Any(a => a is "--help" or "-h" or "-?" or "/?"))
    {
        Console.WriteLine(LocalHostUsage.Text);
        return 0;
    }

    if (args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal) || !a.Contains('=', StringComparison.Ordinal)) is { } stray)
    {
        await Console.Error.WriteLineAsync($"mtafunctions: '{stray}' is not a --Key=value setting. {LocalHostUsage.Text}");
        return 2;
    }

    var host = LocalHostBuilder.Build(args, Directory.GetCurrentDirectory());
    await host.Services.GetRequiredService<StorageInitializer>().EnsureCreatedAsync(CancellationToken.None);
    await host.RunAsync();
    return 0;
}
catch (SettingsException e)
{
    await Console.Error.WriteLineAsync($"mtafunctions: {e.Message}");
    return 2;
}

using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;
using MtaFunctions.LocalHost;

// LocalHost: the Function App's handlers on the WebJobs SDK, for machines without Azure Functions Core Tools,
// and the operator commands (`mtafunctions <command> ...`). Settings come from local.settings.json in the
// current directory (as func start reads them), the environment and --Key=value arguments.
try
{
    if (args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal))
    {
        return await OperatorCli.RunAsync(args, Directory.GetCurrentDirectory(), Console.Out, Console.Error);
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

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Storage;
using MtaFunctions.LocalHost;

// LocalHost: the Function App's handlers on the WebJobs SDK, for machines without Azure Functions Core Tools.
// Settings come from local.settings.json (as func start reads them) and the environment.
try
{
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

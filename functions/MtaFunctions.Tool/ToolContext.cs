using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MtaFunctions.Client;
using MtaFunctions.Core;
using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Storage;

namespace MtaFunctions.Tool;

/// <summary>One run of a verb: the app's services built from the app's settings, and where to write.</summary>
public sealed class ToolContext : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private ToolContext(ToolEnvironment env, IConfiguration configuration, ServiceProvider services)
    {
        Env = env;
        Configuration = configuration;
        _services = services;
    }

    public ToolEnvironment Env { get; }
    public IConfiguration Configuration { get; }
    public TextWriter Out => Env.Out;
    public IServiceProvider Services => _services;

    /// <summary>The storage account, resolved on first use (verbs that need none never touch it).</summary>
    public StorageAccount Storage => _services.GetRequiredService<StorageAccount>();

    /// <summary>The producer API over the same account.</summary>
    public MtaClient Client => new(Storage.Queues, Storage.Blobs, Storage.Tables, _services.GetRequiredService<TimeProvider>())
    {
        // A message the app would bounce for its size is refused here, before anything is stored.
        MaxMessageSize = _services.GetRequiredService<Core.Configuration.OutboundSettings>().MaxMessageSize,
    };

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    /// <summary>Builds the engine exactly as the app does (AddMtaCore checks every setting).</summary>
    public static ToolContext Create(ToolEnvironment env, IConfiguration configuration)
    {
        var services = new ServiceCollection()
            // Logs go to stderr: stdout carries the results (and --json must stay parseable).
            .AddLogging(l => l.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace).AddSimpleConsole(o => o.SingleLine = true)
                .SetMinimumLevel(LogLevel.Warning)
                .AddFilter("Azure", LogLevel.None))
            .AddSingleton(_ => StorageAccount.FromConfiguration(configuration, env.Credential, env.ConfigureStorageClients))
            .AddSingleton(env.Time ?? TimeProvider.System)
            .AddMtaCore(configuration)

            // The tool's probes and lookups are not deliveries: they are not counted for TLS reports.
            .AddSingleton<ITlsSessionRecorder>(NullTlsSessionRecorder.Instance)
            .BuildServiceProvider();
        return new ToolContext(env, configuration, services);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}

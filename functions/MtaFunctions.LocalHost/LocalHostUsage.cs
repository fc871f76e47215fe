namespace MtaFunctions.LocalHost;

/// <summary>What LocalHost takes: only settings; it never treats a word as a command (that is the mta tool's job).</summary>
public static class LocalHostUsage
{
    public const string Text = """
        usage: MtaFunctions.LocalHost [--Key=value ...]
          Runs the Function App's handlers (outbound queue, timers, HTTP routes) on the WebJobs SDK, with the
          settings of ./local.settings.json, the environment and --Key=value (e.g. --Dns:Servers=127.0.0.1:53).
          Operator commands (send, status, queue, poison, sts, dane, tlsrpt, check) are in the mta tool:
            dotnet run --project functions/MtaFunctions.Tool -- --help
        """;
}

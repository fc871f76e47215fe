using System.Text.Json;
using MtaFunctions.Tool;

namespace MtaFunctions.Tests.Tool;

/// <summary>One run of the <c>mta</c> tool in-process: its exit code and what it wrote.</summary>
public sealed record ToolRun(int Exit, string Out, string Error)
{
    /// <summary>Runs <paramref name="args"/> with the environment not read (tests pass every setting).</summary>
    public static async Task<ToolRun> RunAsync(string[] args, Func<ToolEnvironment, ToolEnvironment>? adjust = null, string? workingDirectory = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var env = new ToolEnvironment(output, error, workingDirectory ?? Directory.CreateTempSubdirectory("mta-tool").FullName) { ReadEnvironment = false };
        var exit = await MtaTool.RunAsync(args, adjust?.Invoke(env) ?? env, TestContext.Current.CancellationToken);
        return new ToolRun(exit, output.ToString(), error.ToString());
    }

    /// <summary>The --json output parsed back.</summary>
    public JsonElement Json()
    {
        using var doc = JsonDocument.Parse(Out);
        return doc.RootElement.Clone();
    }

    public override string ToString() => $"exit {Exit}\nstdout:\n{Out}\nstderr:\n{Error}";
}

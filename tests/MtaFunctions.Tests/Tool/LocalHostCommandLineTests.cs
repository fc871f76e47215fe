using MtaFunctions.LocalHost;

namespace MtaFunctions.Tests.Tool;

/// <summary>LocalHost takes settings only: --help and old command words must not start a second instance of the app.</summary>
public sealed class LocalHostCommandLineTests
{
    private static async Task<int> RunLocalHostAsync(params string[] args)
    {
        var main = typeof(LocalHostUsage).Assembly.EntryPoint ?? throw new InvalidOperationException("LocalHost has no entry point");
        var result = Task.Run(() => (int)main.Invoke(null, [args])!);

        // A started host would run until stopped: the guard turns that into a failure instead of a hung run.
        return await result.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_PrintsUsage_DoesNotStartTheApp(string flag) =>
        Assert.Equal(0, await RunLocalHostAsync(flag, "--AzureWebJobsStorage=UseDevelopmentStorage=true"));

    [Theory]
    [InlineData("sts", "purge", "example.com")]
    [InlineData("dane", "check")]
    [InlineData("--Dns:Servers")]
    public async Task CommandWords_RefusedWithUsage_ExitTwo(params string[] args) =>
        Assert.Equal(2, await RunLocalHostAsync(args));

    [Fact]
    public void Usage_PointsToTheTool() =>
        Assert.Contains("dotnet run --project functions/MtaFunctions.Tool -- --help", LocalHostUsage.Text, StringComparison.Ordinal);
}

using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Policy.MtaSts;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.MtaSts;

/// <summary>The Function App's timer trigger and LocalHost's schedule drive the same refresh handler.</summary>
public sealed class RefreshStsPoliciesTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>, IAsyncLifetime
{
    private readonly StsWorld _world = new(azurite);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _world.DisposeAsync();

    [Fact]
    public async Task Run_DuePolicy_Refreshed()
    {
        _world.Publish("timer.test", "t1", "version: STSv1\nmode: enforce\nmx: mx.timer.test\nmax_age: 604800\n");
        var services = await _world.ServicesAsync();
        await services.GetRequiredService<MtaStsResolver>().ResolveAsync("timer.test", TestContext.Current.CancellationToken);
        _world.Time.Advance(TimeSpan.FromHours(25));

        var function = new RefreshStsPolicies(services.GetRequiredService<MtaStsRefreshHandler>());
        await function.Run(new TimerInfo { IsPastDue = false }, TestContext.Current.CancellationToken);

        Assert.Equal(2, _world.Https.RequestsTo("mta-sts.timer.test"));
        var entry = await services.GetRequiredService<StsPolicyStore>().GetAsync("timer.test", TestContext.Current.CancellationToken);
        Assert.Equal(_world.Time.GetUtcNow(), entry!.FetchedAt);
    }

    [Fact]
    public void Schedule_LocalHostAndFunctionApp_Same() => TimerSchedules.AssertSame(typeof(RefreshStsPolicies), MtaStsRefreshHandler.Schedule);
}

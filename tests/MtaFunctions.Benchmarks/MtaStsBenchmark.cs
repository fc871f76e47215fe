using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Policy.MtaSts;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Policy.MtaSts;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// MTA-STS: the cost of resolving a cached policy (memory, table, full resolution with its TXT lookup), and
/// how many HTTP, DNS and table calls 1,000 deliveries to one STS domain make.
/// </summary>
public static class MtaStsBenchmark
{
    public static async Task RunAsync()
    {
        var azurite = new AzuriteFixture();
        await azurite.InitializeAsync();
        try
        {
            await using var world = new StsWorld(azurite);
            const string domain = "bench-sts.test";
            world.Publish(domain, "b1", "version: STSv1\nmode: enforce\nmx: *.bench-sts.test\nmax_age: 604800\n");
            var mx = world.Mx(domain, "mx.bench-sts.test");
            var services = await world.ServicesAsync();
            var resolver = services.GetRequiredService<MtaStsResolver>();
            var cache = services.GetRequiredService<MtaStsPolicyCache>();
            var store = services.GetRequiredService<StsPolicyStore>();
            await resolver.ResolveAsync(domain, CancellationToken.None);

            await Measure("cache hit, in-memory layer (MtaStsPolicyCache.GetAsync)", 200_000, () => cache.GetAsync(domain, false, CancellationToken.None));
            await Measure("cache hit, Table (StsPolicies point read, Azurite)", 500, () => cache.GetAsync(domain, true, CancellationToken.None));
            await Measure("full resolution on a cache hit (TXT lookup on loopback + memory)", 2_000, () => resolver.ResolveAsync(domain, CancellationToken.None));

            // 1,000 deliveries to one STS domain on a fresh instance (empty memory, policy in the table).
            services = await world.ServicesAsync();
            store = services.GetRequiredService<StsPolicyStore>();
            var deliverer = services.GetRequiredService<DomainDeliverer>();
            var httpBefore = world.Https.RequestsTo($"mta-sts.{domain}");
            var dnsBefore = world.Dns.QueriesByName.ToDictionary(p => p.Key, p => p.Value);
            var message = StsWorld.Message($"r@{domain}");
            var delivered = 0;
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < 1000; i++)
            {
                var outcome = await deliverer.DeliverAsync(domain, [$"r{i}@{domain}"], "app@sender.test", message, false, CancellationToken.None);
                delivered += outcome.Count(o => o.Kind == OutcomeKind.Delivered);
            }

            clock.Stop();
            Console.WriteLine($"1,000 deliveries to one STS domain (enforce, cached policy in the table, fresh instance): {delivered} delivered in {clock.Elapsed.TotalSeconds:0.00} s");
            Console.WriteLine($"  HTTPS policy fetches: {world.Https.RequestsTo($"mta-sts.{domain}") - httpBefore}");
            Console.WriteLine($"  StsPolicies table calls: {store.CallCount}");
            foreach (var (name, count) in world.Dns.QueriesByName.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                var delta = count - dnsBefore.GetValueOrDefault(name);
                if (delta > 0)
                {
                    Console.WriteLine($"  DNS {name}: {delta}");
                }
            }

            Console.WriteLine($"  SMTP sessions opened: {mx.SessionCount}");
        }
        finally
        {
            await azurite.DisposeAsync();
        }
    }

    private static async Task Measure<T>(string name, int iterations, Func<Task<T>> run)
    {
        for (var i = 0; i < Math.Min(iterations / 10, 1000); i++)
        {
            await run();
        }

        var clock = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++)
        {
            await run();
        }

        clock.Stop();
        Console.WriteLine($"{name}: {clock.Elapsed.TotalMicroseconds / iterations:0.###} µs/op over {iterations:N0}");
    }
}

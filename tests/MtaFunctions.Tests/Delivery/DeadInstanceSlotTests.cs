using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Delivery;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// A dead instance's destination connection slots come free when the fleet learns it is dead, with its in-flight
/// messages, not a minute later when they lapse; a live instance's slots never do.
/// </summary>
public sealed class DeadInstanceSlotTests(AzuriteFixture storage) : IClassFixture<AzuriteFixture>
{
    private const string Sender = "app@sender.test";

    /// <summary>
    /// A single-instance deployment killed (SIGKILL) while it holds every slot of a destination (limit 2), with a
    /// third message waiting for one, is restarted on the same machine: the new process proves the old one gone,
    /// frees its slots and hands its messages back in its first recovery scan, and delivers each message once.
    /// Without that, the slots stay held until they lapse (<see cref="DestinationLimiter.SlotHold"/>) and the
    /// restarted host delivers nothing to the destination meanwhile.
    /// </summary>
    [Fact]
    public async Task KilledHoldingEverySlot_Restarted_DeadInstancesSlotsFreedInFirstScan_EachMessageDeliveredOnce()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        peers.AddDomain("slots.test", "mx.slots.test", "127.0.0.86");
        var mx = peers.AddSmtpServer("127.0.0.86", peers.Ca.IssueServer(["mx.slots.test"]));
        var hold = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        mx.EndOfDataGate = hold.Task;
        var settings = peers.LocalHostSettings();
        settings["Queue:Outbound:Limits:MaxConnections"] = "2";
        var recipients = new[] { "a@slots.test", "b@slots.test", "c@slots.test" };
        var ids = new Dictionary<string, string>();
        foreach (var recipient in recipients)
        {
            var id = MtaClient.NewMessageId(TimeProvider.System);
            await Writer(peers).EnqueueNewAsync(id, Sender, [recipient], MtaTestHost.Message(Sender, recipient), DateTimeOffset.UtcNow);
            ids[recipient] = id;
        }

        var queued = (await peers.OutboundQueue.PeekMessagesAsync(32)).Value.Select(m => m.MessageId).ToHashSet();
        Assert.Equal(3, queued.Count);
        var inFlight = new InFlightStore(peers.Storage.Tables);
        var limits = new DestinationLimitStore(peers.Storage.Tables);

        string dead;
        IReadOnlyList<SlotRow> deadSlots;
        DateTime killedAt;
        using (var first = KillableLocalHost.Start(settings))
        {
            // Both slots held by open sessions whose end-of-data reply the MX holds; the third message taken too,
            // waiting for a slot; all three listed in the instance's in-flight row.
            string? instance = null;
            await WaitAsync(
                async () =>
                {
                    instance = (await inFlight.ListAsync(default)).FirstOrDefault(r => queued.All(id => r.Messages.Any(m => m.MessageId == id)))?.Instance;
                    return instance is not null && mx.EndOfDataCount >= 2 && (await SlotsOfAsync(limits, "mx.slots.test", instance)).Count == 2;
                },
                first);
            first.KillHard();
            killedAt = DateTime.UtcNow;
            dead = instance!;
            deadSlots = await SlotsOfAsync(limits, "mx.slots.test", dead);
        }

        // The killed sessions end without delivery (their reply reaches nobody).
        hold.SetResult((451, "4.3.0 the client went away"));
        mx.EndOfDataGate = null;
        while (mx.OpenSessions > 0)
        {
            await Task.Delay(20);
        }

        mx.ResetPeak();
        Assert.Equal(2, deadSlots.Count);
        Assert.All(deadSlots, s => Assert.True(s.ExpiresAt > DateTimeOffset.UtcNow, "the dead instance's slots lapsed already: the test did not exercise their release"));
        var before = (await inFlight.ListAsync(default)).Select(r => r.Instance).ToHashSet();

        using (var second = KillableLocalHost.Start(settings))
        {
            // The restarted host's second write of its in-flight row comes after its first recovery scan.
            await WaitForFirstScanAsync(inFlight, before, second);

            Assert.DoesNotContain(await inFlight.ListAsync(default), r => r.Instance == dead);
            Assert.Empty(await SlotsOfAsync(limits, "mx.slots.test", dead));

            await WaitAsync(
                async () =>
                {
                    foreach (var (recipient, id) in ids)
                    {
                        if (!(await peers.StatusAsync(id)).TryGetValue(recipient, out var row) || row.State != nameof(DeliveryState.Delivered))
                        {
                            return false;
                        }
                    }

                    return true;
                },
                second,
                TimeSpan.FromMinutes(3));
            TestContext.Current.TestOutputHelper?.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"all delivered {(DateTime.UtcNow - killedAt).TotalSeconds:0.0}s after the kill (restart included); the dead instance's slots would have lapsed {(deadSlots.Max(s => s.ExpiresAt).UtcDateTime - killedAt).TotalSeconds:0.0}s after it"));
        }

        foreach (var recipient in recipients)
        {
            Assert.Single(mx.Inbox, m => m.To.SequenceEqual([recipient]));
        }

        Assert.InRange(mx.PeakSessions, 1, 2);
    }

    /// <summary>
    /// A host stopped gracefully (SIGTERM, as when the platform scales in) with a connection to a destination still
    /// open in its pool gives the connection's slot back before it exits, even when storage answers slowly (the
    /// slot deletes held 2 s by a proxy): nobody waits for the slot to lapse, and no recovery is needed for it
    /// (the stopped instance removes its in-flight row as it goes).
    /// </summary>
    [Fact]
    public async Task StoppedGracefully_PooledConnectionOpen_StorageSlow_ItsSlotIsFreedBeforeItExits()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        peers.AddDomain("stopped.test", "mx.stopped.test", "127.0.0.88");
        var mx = peers.AddSmtpServer("127.0.0.88", peers.Ca.IssueServer(["mx.stopped.test"]));
        var table = storage.Endpoints["Table"];
        using var proxy = new SlowRequestProxy(table, "DELETE /devstoreaccount1/DestinationLimits(", TimeSpan.FromSeconds(2));
        var settings = peers.LocalHostSettings();
        settings["AzureWebJobsStorage"] = peers.Storage.ConnectionString.Replace($"TableEndpoint={table};", $"TableEndpoint={proxy.Via(table)};", StringComparison.Ordinal);
        Assert.NotEqual(peers.Storage.ConnectionString, settings["AzureWebJobsStorage"]);
        settings["Queue:Outbound:Limits:MaxConnections"] = "2";
        settings["Queue:Outbound:Smtp:ConnectionIdleTime"] = "10m";
        var id = MtaClient.NewMessageId(TimeProvider.System);
        await Writer(peers).EnqueueNewAsync(id, Sender, ["a@stopped.test"], MtaTestHost.Message(Sender, "a@stopped.test"), DateTimeOffset.UtcNow);
        var limits = new DestinationLimitStore(peers.Storage.Tables);

        using var host = KillableLocalHost.Start(settings);
        await WaitAsync(
            async () => (await peers.StatusAsync(id)).TryGetValue("a@stopped.test", out var row) && row.State == nameof(DeliveryState.Delivered),
            host);

        // Delivered, and the connection kept for the next message: it still holds its slot.
        Assert.Equal(1, mx.OpenSessions);
        var held = Assert.Single((await limits.ReadAsync("mx.stopped.test", default)).Slots);

        Assert.Equal(0, host.StopGracefully(TimeSpan.FromSeconds(60)));

        Assert.DoesNotContain((await limits.ReadAsync("mx.stopped.test", default)).Slots, s => s.Holder == held.Holder);
        Assert.Equal(0, proxy.Dropped);
        Assert.True(proxy.Held > 0);
        Assert.Single(mx.Inbox, m => m.To.SequenceEqual(["a@stopped.test"]));
    }

    /// <summary>
    /// An instance whose slot was taken over while its connection sat idle in the pool (it paused past the hold, or
    /// was taken for dead: the slot is someone else's now) closes that connection when its renewal finds out, and
    /// sends the next message only on a new connection with a slot of its own.
    /// </summary>
    [Fact]
    public async Task PooledConnection_SlotTakenOver_ClosedAtItsRenewal_NextMessageOnANewConnectionWithItsOwnSlot()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var host = await MtaTestHost.StartAsync(
            storage, services => services.AddSingleton<TimeProvider>(clock),
            ("Queue:Outbound:Limits:MaxConnections", "1"), ("Queue:Outbound:Smtp:ConnectionIdleTime", "10m"));
        host.AddDomain("lost.test", "mx.lost.test", "127.0.0.89");
        var mx = host.AddSmtpServer("127.0.0.89", host.Ca.IssueServer(["mx.lost.test"]));
        await host.SendAsync(Sender, ["a@lost.test"], MtaTestHost.Message(Sender, "a@lost.test"));
        await host.PumpAsync(TimeSpan.Zero);
        Assert.Equal(1, mx.OpenSessions);
        var limits = new DestinationLimitStore(storage.Tables);
        var ours = Assert.Single((await limits.ReadAsync("mx.lost.test", default)).Slots);

        var taken = await limits.TryWriteSlotAsync("mx.lost.test", ours.Index, "other", "other/1", clock.GetUtcNow() + DestinationLimiter.SlotHold, ours.ETag, default);
        Assert.NotNull(taken);
        clock.Advance(DestinationLimiter.RenewEvery);
        for (var waited = 0; mx.OpenSessions > 0; waited++)
        {
            Assert.True(waited < 600, "the connection whose slot was taken over is still open");
            await Task.Delay(50);
        }

        Assert.Equal("other/1", Assert.Single((await limits.ReadAsync("mx.lost.test", default)).Slots).Holder);

        // The other holder lets go: the next message takes the slot, on a new connection.
        await limits.ReleaseSlotAsync("mx.lost.test", ours.Index, taken.Value, default);
        await host.SendAsync(Sender, ["b@lost.test"], MtaTestHost.Message(Sender, "b@lost.test"));
        await host.PumpAsync(TimeSpan.Zero);

        Assert.Equal(2, mx.SessionCount);
        Assert.Single(mx.Inbox, m => m.To.SequenceEqual(["a@lost.test"]));
        Assert.Single(mx.Inbox, m => m.To.SequenceEqual(["b@lost.test"]));
        Assert.StartsWith(host.Services.GetRequiredService<InstanceIdentity>().Id + "/", Assert.Single((await limits.ReadAsync("mx.lost.test", default)).Slots).Holder);
    }

    /// <summary>
    /// Two LocalHosts on one machine: the first holds every slot of a destination (limit 2, the MX holding both
    /// end-of-data replies) when the second starts. The second's recovery scan leaves the first's slots, row and
    /// messages alone, and opens no connection of its own; the first then delivers each message once.
    /// </summary>
    [Fact]
    public async Task LiveHostHoldingEverySlot_AnotherHostStarts_ItsSlotsAndMessagesStayItsOwn()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        peers.AddDomain("kept.test", "mx.kept.test", "127.0.0.87");
        var mx = peers.AddSmtpServer("127.0.0.87", peers.Ca.IssueServer(["mx.kept.test"]));
        var hold = new TaskCompletionSource<(int Code, string Text)>(TaskCreationOptions.RunContinuationsAsynchronously);
        mx.EndOfDataGate = hold.Task;
        var settings = peers.LocalHostSettings();
        settings["Queue:Outbound:Limits:MaxConnections"] = "2";
        var ids = new Dictionary<string, string>();
        foreach (var recipient in new[] { "a@kept.test", "b@kept.test" })
        {
            var id = MtaClient.NewMessageId(TimeProvider.System);
            await Writer(peers).EnqueueNewAsync(id, Sender, [recipient], MtaTestHost.Message(Sender, recipient), DateTimeOffset.UtcNow);
            ids[recipient] = id;
        }

        var queued = (await peers.OutboundQueue.PeekMessagesAsync(32)).Value.Select(m => m.MessageId).ToHashSet();
        var inFlight = new InFlightStore(peers.Storage.Tables);
        var limits = new DestinationLimitStore(peers.Storage.Tables);
        using var first = KillableLocalHost.Start(settings);
        string? live = null;
        await WaitAsync(
            async () =>
            {
                live = (await inFlight.ListAsync(default)).FirstOrDefault(r => queued.All(id => r.Messages.Any(m => m.MessageId == id)))?.Instance;
                return live is not null && mx.EndOfDataCount >= 2 && (await SlotsOfAsync(limits, "mx.kept.test", live)).Count == 2;
            },
            first);
        var held = (await SlotsOfAsync(limits, "mx.kept.test", live!)).Select(s => s.Holder).Order().ToList();
        var before = (await inFlight.ListAsync(default)).Select(r => r.Instance).ToHashSet();

        using (var second = KillableLocalHost.Start(settings))
        {
            await WaitForFirstScanAsync(inFlight, before, second);

            Assert.Contains(await inFlight.ListAsync(default), r => r.Instance == live && queued.All(id => r.Messages.Any(m => m.MessageId == id)));
            Assert.Equal(held, (await SlotsOfAsync(limits, "mx.kept.test", live!)).Select(s => s.Holder).Order().ToList());
            Assert.Equal(2, mx.OpenSessions);
            Assert.Equal(2, mx.SessionCount);

            hold.SetResult((250, "2.0.0 ok"));
            await WaitAsync(
                async () =>
                {
                    foreach (var (recipient, id) in ids)
                    {
                        if (!(await peers.StatusAsync(id)).TryGetValue(recipient, out var row) || row.State != nameof(DeliveryState.Delivered))
                        {
                            return false;
                        }
                    }

                    return true;
                },
                first);
        }

        Assert.False(first.HasExited);
        foreach (var recipient in ids.Keys)
        {
            Assert.Single(mx.Inbox, m => m.To.SequenceEqual([recipient]));
        }

        Assert.Equal(2, mx.PeakSessions);
    }

    /// <summary>
    /// One recovery scan among instances in every state, with slots on Azurite: the dead (its process ended on this
    /// machine) loses its slots at once; the silent (unprovable, its row not written for longer than
    /// <see cref="InFlightRecovery.StaleAfter"/>) loses those it stopped renewing. The live keep theirs, held by real
    /// renewing limiters: this process, another running process of this machine, an instance of another machine whose
    /// PID happens to be free here, and a silent one that still renews its slot.
    /// </summary>
    [Fact]
    public async Task RecoveryScan_FreesSlotsOfDeadAndSilentInstancesOnly_LiveInstancesKeepTheirs()
    {
        await using var peers = await MtaTestHost.StartAsync(storage);
        var tables = peers.Storage.Tables;
        var inFlight = new InFlightStore(tables);
        var limits = new DestinationLimitStore(tables);
        var here = $"mx.here-{Guid.NewGuid():N}.test";
        var there = $"mx.there-{Guid.NewGuid():N}.test";
        var limit = new DestinationLimit(4, 0);

        using var running = Process.Start("sleep", "120");
        ProcessStamp? endedStamp;
        using (var child = Process.Start("sleep", "120"))
        {
            endedStamp = ProcessStamp.Of(child.Id);
            child.Kill();
            child.WaitForExit();
        }

        Assert.NotNull(endedStamp);
        var dead = new InstanceIdentity(endedStamp);
        var live = new InstanceIdentity(ProcessStamp.Current);
        var liveChild = new InstanceIdentity(ProcessStamp.Of(running.Id) ?? throw new InvalidOperationException("no stamp for a running child"));
        var elsewhere = new InstanceIdentity(endedStamp with { BootId = Guid.NewGuid().ToString() });
        var silent = new InstanceIdentity(process: null);
        var silentRenewing = new InstanceIdentity(process: null);
        var now = DateTimeOffset.UtcNow;
        await inFlight.PublishAsync(dead.Id, [], now, dead.Process!.ToString(), default);
        await inFlight.PublishAsync(live.Id, [], now, live.Process!.ToString(), default);
        await inFlight.PublishAsync(liveChild.Id, [], now, liveChild.Process!.ToString(), default);
        await inFlight.PublishAsync(elsewhere.Id, [], now, elsewhere.Process!.ToString(), default);
        await inFlight.PublishAsync(silent.Id, [], now - TimeSpan.FromMinutes(1), null, default);
        await inFlight.PublishAsync(silentRenewing.Id, [], now - TimeSpan.FromMinutes(1), null, default);

        // What a dead process leaves behind: slot rows nobody renews any more, renewed last `ago`.
        async Task LeftBehindAsync(InstanceIdentity who, string destination, int count, TimeSpan ago)
        {
            for (var i = 0; i < count; i++)
            {
                Assert.NotNull(await limits.TryWriteSlotAsync(destination, i, who.Id, $"{who.Id}/{i}", now - ago + DestinationLimiter.SlotHold, null, default));
            }
        }

        var leases = new List<DestinationLease>();
        async Task HoldAsync(InstanceIdentity who, string destination, int count)
        {
            var limiter = new DestinationLimiter(limits, new DestinationLimitSettings { Default = limit, MaxWait = TimeSpan.FromSeconds(5) }, TimeProvider.System, who);
            for (var i = 0; i < count; i++)
            {
                leases.Add(await limiter.AcquireConnectionAsync(destination, limit, null, CancellationToken.None) ?? throw new InvalidOperationException("no slot"));
            }
        }

        // Killed a moment ago (just renewed); silent for a minute, its slots last renewed 45 s ago (not lapsed yet).
        await LeftBehindAsync(dead, here, 2, TimeSpan.Zero);
        await LeftBehindAsync(silent, there, 2, TimeSpan.FromSeconds(45));
        await HoldAsync(live, here, 1);
        await HoldAsync(liveChild, here, 1);
        await HoldAsync(elsewhere, there, 1);

        // Its in-flight row unwritten for a minute, but renewing its slot: silence proves nothing against that.
        await HoldAsync(silentRenewing, there, 1);
        try
        {
            var before = (await inFlight.ListAsync(default)).Select(r => r.Instance).ToHashSet();
            var recovery = peers.Services.GetServices<IHostedService>().OfType<InFlightRecovery>().Single();
            await recovery.StartAsync(CancellationToken.None);
            try
            {
                await WaitForFirstScanAsync(inFlight, before, host: null);
            }
            finally
            {
                await recovery.StopAsync(CancellationToken.None);
            }

            var rows = (await inFlight.ListAsync(default)).Select(r => r.Instance).ToHashSet();
            Assert.DoesNotContain(dead.Id, rows);
            Assert.DoesNotContain(silent.Id, rows);
            Assert.DoesNotContain(silentRenewing.Id, rows);
            Assert.Contains(live.Id, rows);
            Assert.Contains(liveChild.Id, rows);
            Assert.Contains(elsewhere.Id, rows);

            Assert.Empty(await SlotsOfAsync(limits, here, dead.Id));
            Assert.Empty(await SlotsOfAsync(limits, there, silent.Id));
            Assert.Single(await SlotsOfAsync(limits, here, live.Id));
            Assert.Single(await SlotsOfAsync(limits, here, liveChild.Id));
            Assert.Single(await SlotsOfAsync(limits, there, elsewhere.Id));
            Assert.Single(await SlotsOfAsync(limits, there, silentRenewing.Id));

            // The freed slots are free to anyone at once; the live ones still count.
            var newcomer = new DestinationLimiter(limits, new DestinationLimitSettings { Default = limit, MaxWait = TimeSpan.FromMilliseconds(300) }, TimeProvider.System, new InstanceIdentity());
            for (var i = 0; i < 2; i++)
            {
                leases.Add(await newcomer.AcquireConnectionAsync(here, limit, null, CancellationToken.None) ?? throw new InvalidOperationException($"freed slot {i + 1} of 2 not free"));
            }

            Assert.Null(await newcomer.AcquireConnectionAsync(here, limit, null, CancellationToken.None));
            Assert.Equal(4, (await limits.ReadAsync(here, default)).Slots.Count(s => s.ExpiresAt > DateTimeOffset.UtcNow));
        }
        finally
        {
            foreach (var lease in leases)
            {
                await lease.DisposeAsync();
            }

            running.Kill();
            running.WaitForExit();
        }
    }

    private static OutboundQueueWriter Writer(MtaTestHost peers) => new(
        peers.Storage.Queues.GetQueueClient(StorageNames.OutboundQueue), peers.Storage.Blobs.GetBlobContainerClient(StorageNames.MessageContainer));

    private static async Task<IReadOnlyList<SlotRow>> SlotsOfAsync(DestinationLimitStore limits, string destination, string instance) =>
        (await limits.ReadAsync(destination, default)).Slots.Where(s => s.Holder.StartsWith(instance + "/", StringComparison.Ordinal)).ToList();

    // A new instance writes its row, scans, then writes again (at the latest on its 10 s heartbeat): a second
    // version of a row that was not there before means the first scan is over.
    private static async Task WaitForFirstScanAsync(InFlightStore inFlight, IReadOnlySet<string> before, KillableLocalHost? host)
    {
        var first = new Dictionary<string, Azure.ETag>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            foreach (var row in (await inFlight.ListAsync(default)).Where(r => !before.Contains(r.Instance)))
            {
                if (first.TryGetValue(row.Instance, out var etag) && etag != row.ETag)
                {
                    return;
                }

                first.TryAdd(row.Instance, row.ETag);
            }

            Assert.False(host?.HasExited == true, $"LocalHost exited:\n{host?.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"no recovery scan within 90 s; LocalHost output:\n{host?.Output}");
            await Task.Delay(50);
        }
    }


    private static async Task WaitAsync(Func<Task<bool>> condition, KillableLocalHost host, TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(90));
        while (!await condition())
        {
            Assert.False(host.HasExited, $"LocalHost exited:\n{host.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"timed out; LocalHost output:\n{host.Output}");
            await Task.Delay(50);
        }
    }
}

using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using Microsoft.Extensions.Time.Testing;
using MtaFunctions.Client;
using MtaFunctions.Client.Contract;
using MtaFunctions.Core.Storage;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Delivery;

/// <summary>
/// The Deliveries table's layout and its shared operations on a real Azurite: concurrent deliveries read their
/// state with one query and write their rows with one transaction per partition, and each still gets exactly
/// its own rows and its own failure.
/// </summary>
public sealed class DeliveryStoreTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    // Long enough that every request of a test lands in one window, however slow the machine.
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    [Fact]
    public void Keys_ClientIds_SharePartitionsBy65Seconds_OtherIdsKeepTheirOwn()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 18, 0, 0, TimeSpan.Zero));
        var first = MtaClient.NewMessageId(time);
        time.Advance(TimeSpan.FromSeconds(10));
        var second = MtaClient.NewMessageId(time);

        Assert.True(DeliveryKeys.IsShared(first));
        Assert.StartsWith(DeliveryKeys.SharedPartitionPrefix, DeliveryKeys.Partition(first), StringComparison.Ordinal);
        Assert.Equal(DeliveryKeys.Partition(first), DeliveryKeys.Partition(second));
        Assert.Equal($"{first}|a%40x.test", DeliveryKeys.Row(first, "A@X.test"));

        // Earlier clients' 32-digit ids, a version 4 UUID, upper case, a producer's own: one partition each, as before.
        foreach (var id in new[] { Guid.CreateVersion7().ToString("N"), Guid.NewGuid().ToString("D"), first.ToUpperInvariant(), "order-4711" })
        {
            Assert.False(DeliveryKeys.IsShared(id), id);
            Assert.Equal(id, DeliveryKeys.Partition(id));
            Assert.Equal("a%40x.test", DeliveryKeys.Row(id, "a@x.test"));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Keys_StoredRow_GivesBackMessageAndRecipient(bool shared)
    {
        var id = shared ? MtaClient.NewMessageId(TimeProvider.System) : "order-4711";
        var row = new DeliveryRecord(id, "Ann+Tag@Example.test");

        Assert.Equal(id, row.MessageId());
        Assert.Equal(DeliveryKeys.RecipientKey("ann+tag@example.test"), DeliveryKeys.RecipientKeyOf(row));
    }

    [Fact]
    public async Task Load_ThirtyMessagesAtOnce_FewQueries_EachGetsExactlyItsOwnRows()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var singles = Enumerable.Range(0, 20).Select(_ => MtaClient.NewMessageId(time)).ToList();
        var multis = Enumerable.Range(0, 10).Select(_ => MtaClient.NewMessageId(time)).ToList();
        var neighbours = Enumerable.Range(0, 5).Select(_ => MtaClient.NewMessageId(time)).ToList();
        Assert.Single(singles.Concat(multis).Concat(neighbours).Select(DeliveryKeys.Partition).Distinct());

        var (setup, _) = Store();
        await setup.EnsureCreatedAsync(CancellationToken.None);
        var stored = new List<DeliveryRecord>();
        stored.AddRange(singles.Where((_, i) => i % 2 == 0).Select(id => Row(id, "one@a.test", DeliveryState.Delivered)));
        stored.AddRange(multis.SelectMany(id => new[] { Row(id, "x@a.test", DeliveryState.Delivered), Row(id, "y@b.test", DeliveryState.Deferred) }));

        // Rows of messages nobody asks for, in the same partition, some with the very same recipient.
        stored.AddRange(neighbours.SelectMany(id => new[] { Row(id, "one@a.test", DeliveryState.Bounced), Row(id, "x@a.test", DeliveryState.Failed) }));
        await Task.WhenAll(stored.Select(r => setup.SaveAsync([r], CancellationToken.None)));

        var (store, requests) = Store();
        var envelopes = singles.Select(id => Envelope(id, "one@a.test"))
            .Concat(multis.Select(id => Envelope(id, "x@a.test", "y@b.test", "z@c.test")))
            .ToList();
        var loaded = await Task.WhenAll(envelopes.Select(e => store.LoadAsync(e, CancellationToken.None)));

        for (var i = 0; i < envelopes.Count; i++)
        {
            var expected = stored.Where(r => r.MessageId() == envelopes[i].Id)
                .ToDictionary(DeliveryKeys.RecipientKeyOf, r => r.State, StringComparer.Ordinal);
            Assert.Equal(expected, loaded[i].ToDictionary(p => p.Key, p => p.Value.State, StringComparer.Ordinal));
        }

        // 20 single-recipient messages (one comparison each) and 10 ranges (two each) in queries of 14 comparisons.
        Assert.InRange(requests.Count, 3, 4);
    }

    /// <summary>
    /// Two queue messages of one envelope read in one window: both get its rows, each in a dictionary of its own,
    /// and the other messages of the batch are answered too (a duplicate once failed every read of the batch).
    /// </summary>
    [Fact]
    public async Task Load_SameEnvelopeTwiceInOneWindow_BothAnswered_OwnCopies_OthersAnswered()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var twice = MtaClient.NewMessageId(time);
        var other = MtaClient.NewMessageId(time);
        var (setup, _) = Store();
        await setup.EnsureCreatedAsync(CancellationToken.None);
        await setup.SaveAsync([Row(twice, "d@a.test", DeliveryState.Delivered)], CancellationToken.None);
        await setup.SaveAsync([Row(other, "e@a.test", DeliveryState.Deferred)], CancellationToken.None);

        var (store, requests) = Store();
        var loaded = await Task.WhenAll(
            store.LoadAsync(Envelope(twice, "d@a.test"), CancellationToken.None),
            store.LoadAsync(Envelope(other, "e@a.test"), CancellationToken.None),
            store.LoadAsync(Envelope(twice, "d@a.test"), CancellationToken.None));

        Assert.Equal(nameof(DeliveryState.Delivered), Assert.Single(loaded[0]).Value.State);
        Assert.Equal(nameof(DeliveryState.Deferred), Assert.Single(loaded[1]).Value.State);
        Assert.Equal(nameof(DeliveryState.Delivered), Assert.Single(loaded[2]).Value.State);
        Assert.NotSame(loaded[0], loaded[2]);
        Assert.Equal(1, requests.Count);
    }

    [Fact]
    public async Task Save_RowsOfFortyMessagesAtOnce_OneTransaction_AllStoredAsWritten()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var ids = Enumerable.Range(0, 40).Select(_ => MtaClient.NewMessageId(time)).ToList();
        var (store, requests) = Store();
        await store.EnsureCreatedAsync(CancellationToken.None);
        requests.Reset();

        var rows = ids.Select((id, i) => new[] { Row(id, $"r{i}@a.test", DeliveryState.Delivered, $"250 2.0.0 queued as {i}") }).ToList();
        rows.Add([Row(ids[0], "s@b.test", DeliveryState.Deferred), Row(ids[0], "t@b.test", DeliveryState.Deferred)]);
        await Task.WhenAll(rows.Select(r => store.SaveAsync(r, CancellationToken.None)));

        Assert.Equal(1, requests.Count);
        var client = new MtaClient(azurite.ConnectionString);
        for (var i = 0; i < ids.Count; i++)
        {
            var status = await client.GetStatusAsync(ids[i]);
            var expected = rows.SelectMany(r => r).Where(r => r.MessageId() == ids[i]).OrderBy(r => r.Recipient, StringComparer.Ordinal)
                .Select(r => (r.Recipient, r.State, r.LastReply));
            Assert.Equal(expected, status.OrderBy(r => r.Recipient, StringComparer.Ordinal).Select(r => (r.Recipient, r.State, r.LastReply)));
        }
    }

    [Fact]
    public async Task Save_GroupCommit_FortyAtOnce_SharedTransactions()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var ids = Enumerable.Range(0, 40).Select(_ => MtaClient.NewMessageId(time)).ToList();
        var requests = new RequestCounter();
        var options = new TableClientOptions();
        options.AddPolicy(requests, HttpPipelinePosition.PerRetry);
        var store = new DeliveryStore(new TableServiceClient(azurite.ConnectionString, options));
        await store.EnsureCreatedAsync(CancellationToken.None);
        requests.Reset();

        await Task.WhenAll(ids.Select((id, i) => store.SaveAsync([Row(id, $"g{i}@a.test", DeliveryState.Delivered)], CancellationToken.None)));

        // The production setting: no window, four writes at once. The first four go alone; the other 36, added
        // during their round trips, share the next transaction (a few more only if this machine stalled the adds).
        Assert.InRange(requests.Count, 2, 10);
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            Assert.Equal(nameof(DeliveryState.Delivered), (await store.LoadAsync(id, CancellationToken.None))[DeliveryKeys.RecipientKey($"g{i}@a.test")].State);
        }
    }

    [Fact]
    public async Task Save_OneMessagesRowRejected_OthersStored_OnlyItsCallerFails()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var ids = Enumerable.Range(0, 6).Select(_ => MtaClient.NewMessageId(time)).ToList();
        var (store, _) = Store();
        await store.EnsureCreatedAsync(CancellationToken.None);

        // A string property holds at most 64 KiB (32 K UTF-16 characters): the service refuses this entity.
        var bad = Row(ids[3], "big@a.test", DeliveryState.Delivered, new string('x', 40_000));
        var saves = ids.Select(id => id == ids[3] ? store.SaveAsync([bad], CancellationToken.None) : store.SaveAsync([Row(id, "ok@a.test", DeliveryState.Delivered)], CancellationToken.None))
            .ToList();

        await Assert.ThrowsAnyAsync<Azure.RequestFailedException>(() => saves[3]);
        foreach (var (save, id) in saves.Zip(ids).Where((_, i) => i != 3))
        {
            await save;
            Assert.Equal(DeliveryState.Delivered.ToString(), (await store.LoadAsync(id, CancellationToken.None))[DeliveryKeys.RecipientKey("ok@a.test")].State);
        }
    }

    [Fact]
    public async Task Load_RowsOfTheEarlierLayout_FoundWhereTheyAre()
    {
        // A message queued by a client before the shared layout: 32 hex digits, its rows under PartitionKey = id.
        var id = Guid.CreateVersion7().ToString("N");
        var table = new TableServiceClient(azurite.ConnectionString).GetTableClient(StorageNames.DeliveriesTable);
        await table.CreateIfNotExistsAsync();
        await table.UpsertEntityAsync(new DeliveryRecord { PartitionKey = id, RowKey = "old%40a.test", Recipient = "old@a.test", State = nameof(DeliveryState.Delivered) });

        var (store, _) = Store();
        var single = await store.LoadAsync(Envelope(id, "old@a.test"), CancellationToken.None);
        var all = await store.LoadAsync(id, CancellationToken.None);
        var client = new MtaClient(azurite.ConnectionString);

        Assert.Equal(nameof(DeliveryState.Delivered), single["old%40a.test"].State);
        Assert.Equal(nameof(DeliveryState.Delivered), all["old%40a.test"].State);
        Assert.Equal(id, Assert.Single(await client.GetStatusAsync(id)).MessageId());
    }

    private (DeliveryStore Store, RequestCounter Requests) Store()
    {
        var requests = new RequestCounter();
        var options = new TableClientOptions();
        options.AddPolicy(requests, HttpPipelinePosition.PerRetry);
        return (new DeliveryStore(new TableServiceClient(azurite.ConnectionString, options), Window, Window), requests);
    }

    private static DeliveryRecord Row(string id, string recipient, DeliveryState state, string? reply = null)
    {
        var row = new DeliveryRecord(id, recipient);
        row.State = state.ToString();
        row.LastReply = reply ?? $"{state} {recipient}";
        return row;
    }

    private static OutboundEnvelope Envelope(string id, params string[] to) =>
        new() { Id = id, From = "sender@example.test", To = to, Message = "", QueuedAt = DateTimeOffset.UtcNow };

    private sealed class RequestCounter : HttpPipelineSynchronousPolicy
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public void Reset() => Interlocked.Exchange(ref _count, 0);

        public override void OnSendingRequest(HttpMessage message) => Interlocked.Increment(ref _count);
    }
}

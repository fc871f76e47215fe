using MtaFunctions.Client.Contract;

namespace MtaFunctions.Tests.Contract;

public sealed class EnvelopeSerializerTests
{
    private const string Body = "U3ViamVjdDogaGkNCg0KaGkNCg=="; // "Subject: hi\r\n\r\nhi\r\n"

    [Fact]
    public void Parse_ReadmeExample_RoundTrips()
    {
        var json = $$"""{"id":"0193a1b2c3d4","from":"app@sender.example","to":["a@example.com","b@example.net"],"message":"{{Body}}","queuedAt":"2026-11-28T12:00:00Z","attempt":0,"recipientCount":2}""";
        var envelope = EnvelopeSerializer.Parse(json);
        Assert.Equal("0193a1b2c3d4", envelope.Id);
        Assert.Equal(["a@example.com", "b@example.net"], envelope.To);
        Assert.Equal(envelope, EnvelopeSerializer.Parse(System.Text.Encoding.UTF8.GetString(EnvelopeSerializer.ToUtf8(envelope))) with { To = envelope.To });
        Assert.Equal("Subject: hi\r\n\r\nhi\r\n", System.Text.Encoding.ASCII.GetString(EnvelopeSerializer.DecodeInline(envelope)));
    }

    [Theory]
    [InlineData("not json", "$")]
    [InlineData("null", "$")]
    [InlineData("""{"from":"a@b.example","to":["c@d.example"],"message":"QQ==","queuedAt":"2026-01-01T00:00:00Z"}""", "$")]
    [InlineData("""{"id":"has space","from":"a@b.example","to":["c@d.example"],"message":"QQ==","queuedAt":"2026-01-01T00:00:00Z"}""", "id")]
    [InlineData("""{"id":"x1","from":"no-at-sign","to":["c@d.example"],"message":"QQ==","queuedAt":"2026-01-01T00:00:00Z"}""", "from")]
    [InlineData("""{"id":"x1","from":"a@b.example","to":[],"message":"QQ==","queuedAt":"2026-01-01T00:00:00Z"}""", "to")]
    [InlineData("""{"id":"x1","from":"a@b.example","to":["c@d.example","bad"],"message":"QQ==","queuedAt":"2026-01-01T00:00:00Z"}""", "to[1]")]
    [InlineData("""{"id":"x1","from":"a@b.example","to":["c@d.example"],"queuedAt":"2026-01-01T00:00:00Z"}""", "message")]
    [InlineData("""{"id":"x1","from":"a@b.example","to":["c@d.example"],"message":"QQ==","messageBlob":"x.eml","queuedAt":"2026-01-01T00:00:00Z"}""", "message")]
    [InlineData("""{"id":"x1","from":"a@b.example","to":["c@d.example"],"message":"***","queuedAt":"2026-01-01T00:00:00Z"}""", "message")]
    [InlineData("""{"id":"x1","from":"a@b.example","to":["c@d.example"],"message":"QQ==","queuedAt":"2026-01-01T00:00:00Z","attempt":-1}""", "attempt")]
    public void Parse_Rejected_NamesField(string json, string field)
    {
        var e = Assert.Throws<EnvelopeFormatException>(() => EnvelopeSerializer.Parse(json));
        Assert.Equal(field, e.Field);
        Assert.StartsWith($"outbound envelope: {field}: ", e.Message);
    }

    [Fact]
    public void Parse_EmptySender_IsABounce()
    {
        var envelope = EnvelopeSerializer.Parse("""{"id":"x1","from":"","to":["c@d.example"],"message":"QQ==","queuedAt":"2026-01-01T00:00:00Z"}""");
        Assert.Equal("", envelope.From);
    }

    private static string Envelope(string id, string to = "c@d.example") =>
        $$"""{"id":"{{id}}","from":"a@b.example","to":["{{to}}"],"message":"{{Body}}","queuedAt":"2026-01-01T00:00:00Z"}""";

    [Fact]
    public void ParsePayload_OneEnvelope_OneEntryWithItsJson()
    {
        var json = Envelope("one");
        var entry = Assert.Single(EnvelopeSerializer.ParsePayload(json));
        Assert.Equal(json, entry.Json);
        Assert.Equal("one", entry.Envelope!.Id);
        Assert.Null(entry.Problem);
        Assert.False(EnvelopeSerializer.IsBatch(json));
    }

    [Fact]
    public void ParsePayload_OneBadEnvelope_OneEntryWithTheReason()
    {
        var json = Envelope("one", to: "bad");
        var entry = Assert.Single(EnvelopeSerializer.ParsePayload(json));
        Assert.Equal(json, entry.Json);
        Assert.Null(entry.Envelope);
        Assert.Equal("to[0]", entry.Problem!.Field);
    }

    [Fact]
    public void ParsePayload_Batch_EachEnvelopeOnItsOwn_BadOneNamedByItsPlace()
    {
        var json = $" \n[{Envelope("first")},{Envelope("second", to: "bad")}, 42 ,{Envelope("fourth")}]";
        Assert.True(EnvelopeSerializer.IsBatch(json));

        var entries = EnvelopeSerializer.ParsePayload(json);

        Assert.Equal(4, entries.Count);
        Assert.Equal(["first", null, null, "fourth"], entries.Select(e => e.Envelope?.Id));
        Assert.Equal(Envelope("second", to: "bad"), entries[1].Json);
        Assert.Equal("[1].to[0]", entries[1].Problem!.Field);
        Assert.StartsWith("outbound envelope: [1].to[0]: ", entries[1].Problem!.Message);
        Assert.Equal("42", entries[2].Json);
        Assert.Equal("[2]", entries[2].Problem!.Field);
        Assert.Equal(Envelope("fourth"), entries[3].Json);
        Assert.Equal(["first", "fourth"], EnvelopeSerializer.ValidEnvelopes(json).Select(e => e.Id));
    }

    [Theory]
    [InlineData("[", "not a valid batch")]
    [InlineData("[{\"id\":1},", "not a valid batch")]
    [InlineData(" [ ] ", "an empty batch")]
    public void ParsePayload_UnreadableBatch_OneEntry_WholePayload_Reason(string json, string reason)
    {
        var entry = Assert.Single(EnvelopeSerializer.ParsePayload(json));
        Assert.Equal(json, entry.Json);
        Assert.Null(entry.Envelope);
        Assert.Equal("$", entry.Problem!.Field);
        Assert.Contains(reason, entry.Problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ParsePayload_BatchOverTheLimit_RefusedWhole()
    {
        var json = $"[{string.Join(',', Enumerable.Repeat("1", EnvelopeLimits.MaxBatchEnvelopes + 1))}]";

        var entry = Assert.Single(EnvelopeSerializer.ParsePayload(json));

        Assert.Equal(json, entry.Json);
        Assert.Equal($"outbound envelope: $: a batch of {EnvelopeLimits.MaxBatchEnvelopes + 1} envelopes; at most {EnvelopeLimits.MaxBatchEnvelopes} per queue message", entry.Problem!.Message);
        Assert.Equal(EnvelopeLimits.MaxBatchEnvelopes, EnvelopeSerializer.ParsePayload($"[{string.Join(',', Enumerable.Repeat("1", EnvelopeLimits.MaxBatchEnvelopes))}]").Count);
    }

    [Fact]
    public void JoinBatch_ReadsBackAsTheSameEnvelopes()
    {
        var envelopes = new[] { "a1", "a2", "a3" }.Select(id => EnvelopeSerializer.Parse(Envelope(id))).ToList();

        var batch = EnvelopeSerializer.JoinBatch([.. envelopes.Select(EnvelopeSerializer.ToUtf8)]);

        var text = System.Text.Encoding.UTF8.GetString(batch);
        Assert.Equal(envelopes.Sum(e => EnvelopeSerializer.ToUtf8(e).Length) + 4, batch.Length);
        Assert.Equal(envelopes.Select(e => e.Id), EnvelopeSerializer.ParsePayload(text).Select(e => e.Envelope!.Id));
        Assert.Equal(envelopes.Select(e => e.To[0]), EnvelopeSerializer.ValidEnvelopes(text).Select(e => e.To[0]));
    }
}

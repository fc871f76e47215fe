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
}

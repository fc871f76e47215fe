using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using MtaFunctions.Core.Configuration;
using MtaFunctions.Core.Dns;
using MtaFunctions.Core.Policy.Dane;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Policy.Dane;

/// <summary>
/// TLSA answers with broken RDATA on the wire (truncated, lying RDLENGTH, random bytes) through DnsClient and
/// <see cref="DnsClientResolver"/>: a lookup must end as a status, never as an exception, and whatever records
/// come out must be judged without throwing.
/// </summary>
public sealed class TlsaWireFuzzTests : IAsyncDisposable
{
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private Func<byte[]> _rdata = () => [];
    private Func<int, int> _rdLength = n => n;

    public TlsaWireFuzzTests()
    {
        _serving = ServeAsync();
    }

    private IPEndPoint EndPoint => (IPEndPoint)_udp.Client.LocalEndPoint!;

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult request;
            try
            {
                request = await _udp.ReceiveAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var response = Answer(request.Buffer, _rdata(), _rdLength);
            await _udp.SendAsync(response, request.RemoteEndPoint, _stop.Token);
        }
    }

    // A response echoing the question, with one TLSA answer whose RDATA and RDLENGTH the test chooses.
    private static byte[] Answer(byte[] query, byte[] rdata, Func<int, int> rdLength)
    {
        var questionEnd = 12;
        while (questionEnd < query.Length && query[questionEnd] != 0)
        {
            questionEnd += query[questionEnd] + 1;
        }

        questionEnd += 5;
        var message = new List<byte>();
        message.AddRange(query[..2]);
        message.AddRange(new byte[] { 0x81, 0xA0, 0, 1, 0, 1, 0, 0, 0, 0 });   // QR RD RA AD, 1 question, 1 answer
        message.AddRange(query[12..questionEnd]);
        var rr = new byte[12];
        rr[0] = 0xC0;
        rr[1] = 12;                                                             // name: pointer to the question
        BinaryPrimitives.WriteUInt16BigEndian(rr.AsSpan(2), 52);                // TLSA
        BinaryPrimitives.WriteUInt16BigEndian(rr.AsSpan(4), 1);                 // IN
        BinaryPrimitives.WriteUInt32BigEndian(rr.AsSpan(6), 300);
        BinaryPrimitives.WriteUInt16BigEndian(rr.AsSpan(10), (ushort)Math.Clamp(rdLength(rdata.Length), 0, ushort.MaxValue));
        message.AddRange(rr);
        message.AddRange(rdata);
        return [.. message];
    }

    private DnsClientResolver Resolver() =>
        new(new DnsSettings { Servers = [EndPoint], Timeout = TimeSpan.FromMilliseconds(300) }, [EndPoint]);

    [Fact]
    public async Task QueryTlsa_WellFormedAnswer_ParsedAndAuthenticated()
    {
        var data = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        _rdata = () => [3, 1, 1, .. data];
        var answer = await Resolver().QueryTlsaAsync("_25._tcp.mx.fuzz.test", TestContext.Current.CancellationToken);
        Assert.Equal(DnsStatus.Found, answer.Status);
        Assert.True(answer.Authenticated);
        Assert.True(TlsaRecord.From(answer.Records.Single()).IsUsable);
        Assert.Equal(data, answer.Records.Single().Data);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task QueryTlsa_RdataShorterThanFixedFields_StatusNotException(int length)
    {
        _rdata = () => new byte[] { 3, 1, 1 }[..length];
        var answer = await Resolver().QueryTlsaAsync("_25._tcp.mx.fuzz.test", TestContext.Current.CancellationToken);
        AssertJudgeable(answer);
        Assert.NotEqual(DnsStatus.Found, answer.Status);
    }

    [Fact]
    public async Task QueryTlsa_FixedFieldsWithoutData_FoundButUnusable()
    {
        _rdata = () => [3, 1, 1];
        var answer = await Resolver().QueryTlsaAsync("_25._tcp.mx.fuzz.test", TestContext.Current.CancellationToken);
        Assert.Equal(DnsStatus.Found, answer.Status);
        Assert.Contains("not 32", TlsaRecord.From(answer.Records.Single()).UnusableReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QueryTlsa_RdLengthLongerThanMessage_StatusNotException()
    {
        _rdata = () => [3, 1, 1, 0xAA, 0xBB];
        _rdLength = n => n + 40;
        var answer = await Resolver().QueryTlsaAsync("_25._tcp.mx.fuzz.test", TestContext.Current.CancellationToken);
        Assert.NotEqual(DnsStatus.Found, answer.Status);
    }

    [Fact]
    public async Task QueryTlsa_DigestOfWrongLength_FoundButUnusable()
    {
        _rdata = () => [3, 1, 1, .. new byte[31]];
        var answer = await Resolver().QueryTlsaAsync("_25._tcp.mx.fuzz.test", TestContext.Current.CancellationToken);
        Assert.Equal(DnsStatus.Found, answer.Status);
        Assert.False(TlsaRecord.From(answer.Records.Single()).IsUsable);
    }

    [Fact]
    public async Task QueryTlsa_RandomRdataAndLengths_NeverThrows()
    {
        var random = new Random(6698);
        var resolver = Resolver();
        var statuses = new Dictionary<DnsStatus, int>();
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(0, 100)];
            random.NextBytes(bytes);
            var delta = random.Next(-3, 4);
            _rdata = () => bytes;
            _rdLength = n => n + delta;
            var answer = await resolver.QueryTlsaAsync("_25._tcp.mx.fuzz.test", TestContext.Current.CancellationToken);
            AssertJudgeable(answer);
            statuses[answer.Status] = statuses.GetValueOrDefault(answer.Status) + 1;
        }

        // Both paths were exercised: records that parsed, and messages that did not.
        Assert.True(statuses.GetValueOrDefault(DnsStatus.Found) > 0, string.Join(", ", statuses));
        Assert.True(statuses.Where(s => s.Key != DnsStatus.Found).Sum(s => s.Value) > 0, string.Join(", ", statuses));
    }

    private static void AssertJudgeable(DnsAnswer<TlsaRecordData> answer)
    {
        if (answer.Status == DnsStatus.Found)
        {
            var set = new TlsaRecordSet("mx.fuzz.test", answer.Records.Select(TlsaRecord.From).ToList());
            Assert.All(set.All, r => Assert.Equal(r.IsUsable, r.UnusableReason is null));
        }
        else
        {
            Assert.False(answer.Status.IsDefinite() && answer.Records.Count > 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        try
        {
            await _serving;
        }
        catch (ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }
}

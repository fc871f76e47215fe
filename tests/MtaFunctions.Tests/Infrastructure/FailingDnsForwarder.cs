using System.Collections.Concurrent;
using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// A DNS server on loopback that passes every query on to an upstream server and its answer back unchanged
/// (RRSIGs, DO and CD bits included), except the (name, type) pairs the test makes fail: those get SERVFAIL.
/// It stands for a resolver that breaks on one of the questions only a DNSSEC validator asks (DNSKEY, DS).
/// </summary>
public sealed class FailingDnsForwarder : IDisposable
{
    private readonly ConcurrentDictionary<(string Name, RecordType Type), byte> _failures = new();
    private readonly ARSoft.Tools.Net.Dns.DnsClient _upstream;
    private readonly DnsServer _server;

    /// <summary>Starts the forwarder in front of <paramref name="upstream"/>.</summary>
    public FailingDnsForwarder(IPEndPoint upstream)
    {
        _upstream = new ARSoft.Tools.Net.Dns.DnsClient(
            [upstream.Address], [new UdpClientTransport(upstream.Port), new TcpClientTransport(upstream.Port)], true, 3000);
        EndPoint = new IPEndPoint(IPAddress.Loopback, FreePort.Next());
        _server = new DnsServer(new IServerTransport[] { new UdpServerTransport(EndPoint, 2000), new TcpServerTransport(EndPoint, 2000, 2000) });
        _server.QueryReceived += OnQueryAsync;
        _server.Start();
    }

    /// <summary>Where the forwarder listens.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Queries answered with SERVFAIL so far, by "name type".</summary>
    public ConcurrentDictionary<string, int> Failed { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Answers (name, type) with SERVFAIL from now on.</summary>
    public FailingDnsForwarder Fail(string name, RecordType type)
    {
        _failures[(Normalize(name), type)] = 0;
        return this;
    }

    private static string Normalize(string name) => name.TrimEnd('.').ToLowerInvariant();

    private async Task OnQueryAsync(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is not DnsMessage query || query.Questions.Count != 1)
        {
            return;
        }

        var question = query.Questions[0];
        var response = query.CreateResponseInstance();
        response.IsRecursionAllowed = true;
        if (_failures.ContainsKey((Normalize(question.Name.ToString()), question.RecordType)))
        {
            Failed.AddOrUpdate($"{Normalize(question.Name.ToString())} {question.RecordType}", 1, (_, n) => n + 1);
            response.ReturnCode = ReturnCode.ServerFailure;
            e.Response = response;
            return;
        }

        var answer = await _upstream.ResolveAsync(question.Name, question.RecordType, question.RecordClass, new DnsQueryOptions
        {
            IsRecursionDesired = query.IsRecursionDesired,
            IsCheckingDisabled = query.IsCheckingDisabled,
            EDnsOptions = query.IsEDnsEnabled ? new OptRecord { IsDnsSecOk = query.IsDnsSecOk } : null,
        });
        if (answer is null)
        {
            response.ReturnCode = ReturnCode.ServerFailure;
            e.Response = response;
            return;
        }

        response.ReturnCode = answer.ReturnCode;
        response.IsAuthoritiveAnswer = answer.IsAuthoritiveAnswer;
        response.IsAuthenticData = answer.IsAuthenticData;
        response.AnswerRecords.AddRange(answer.AnswerRecords);
        response.AuthorityRecords.AddRange(answer.AuthorityRecords);
        response.AdditionalRecords.AddRange(answer.AdditionalRecords.Where(r => r.RecordType != RecordType.Opt));
        e.Response = response;
    }

    public void Dispose()
    {
        try
        {
            _server.Stop();
        }
        catch (AggregateException e) when (e.InnerExceptions.All(i => i is OperationCanceledException))
        {
            // ARSoft's Stop() sometimes reports its own listener tasks as cancelled: the server is stopped anyway.
        }

        ((IDisposable)_upstream).Dispose();
    }
}

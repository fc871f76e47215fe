using System.Collections.Concurrent;
using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// A DNS server on loopback (UDP and TCP) answering from data the test sets: real answers on the wire for
/// DnsClient, with scenario names such as <c>nullmx.test</c> or <c>servfail.test</c>.
/// </summary>
public sealed class TestDnsServer : IDisposable
{
    private readonly ConcurrentDictionary<(string Name, RecordType Type), List<DnsRecordBase>> _records = new();
    private readonly ConcurrentDictionary<string, string> _cnames = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<(string Name, RecordType Type), ReturnCode> _failures = new();
    private readonly ConcurrentDictionary<string, byte> _names = new(StringComparer.OrdinalIgnoreCase);
    private readonly DnsServer _server;
    private int _queries;

    public TestDnsServer(IPAddress? bind = null)
    {
        var port = FreePort.Next();
        EndPoint = new IPEndPoint(bind ?? IPAddress.Loopback, port);
        _server = new DnsServer(new IServerTransport[] { new UdpServerTransport(EndPoint, 2000), new TcpServerTransport(EndPoint, 2000, 2000) });
        _server.QueryReceived += OnQueryAsync;
        _server.Start();
    }

    /// <summary>Where the server listens; put it in <c>Dns:Servers</c>.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>Set the AD flag on every answer (a resolver claiming to have validated).</summary>
    public bool AuthenticData { get; set; }

    /// <summary>Queries answered so far.</summary>
    public int QueryCount => _queries;

    /// <summary>Queries answered per (name, type) so far.</summary>
    public ConcurrentDictionary<string, int> QueriesByName { get; } = new(StringComparer.OrdinalIgnoreCase);

    public TestDnsServer A(string name, params string[] addresses)
    {
        foreach (var a in addresses)
        {
            var ip = IPAddress.Parse(a);
            Add(name, ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                ? new AaaaRecord(DomainName.Parse(name), 60, ip)
                : new ARecord(DomainName.Parse(name), 60, ip));
        }

        return this;
    }

    public TestDnsServer Mx(string domain, ushort preference, string exchange) =>
        Add(domain, new MxRecord(DomainName.Parse(domain), 60, preference, exchange == "." ? DomainName.Root : DomainName.Parse(exchange)));

    public TestDnsServer Txt(string name, params string[] parts) =>
        Add(name, new TxtRecord(DomainName.Parse(name), 60, parts));

    public TestDnsServer Tlsa(string name, byte usage, byte selector, byte matching, byte[] data) =>
        Add(name, new TlsaRecord(DomainName.Parse(name), 60, (TlsaRecord.TlsaCertificateUsage)usage,
            (TlsaRecord.TlsaSelector)selector, (TlsaRecord.TlsaMatchingType)matching, data));

    public TestDnsServer Cname(string name, string target)
    {
        _cnames[Normalize(name)] = Normalize(target);
        _names[Normalize(name)] = 0;
        return this;
    }

    /// <summary>Answer (name, type) with an error code such as <see cref="ReturnCode.ServerFailure"/>.</summary>
    public TestDnsServer Fail(string name, RecordType type, ReturnCode code = ReturnCode.ServerFailure)
    {
        _failures[(Normalize(name), type)] = code;
        _names[Normalize(name)] = 0;
        return this;
    }

    /// <summary>Removes every record of (name, type).</summary>
    public TestDnsServer Clear(string name, RecordType type)
    {
        _records.TryRemove((Normalize(name), type), out _);
        _failures.TryRemove((Normalize(name), type), out _);
        return this;
    }

    private TestDnsServer Add(string name, DnsRecordBase record)
    {
        var key = (Normalize(name), record.RecordType);
        _records.AddOrUpdate(key, _ => [record], (_, list) =>
        {
            lock (list)
            {
                list.Add(record);
            }

            return list;
        });
        _names[Normalize(name)] = 0;
        return this;
    }

    private static string Normalize(string name) => name.TrimEnd('.').ToLowerInvariant();

    private Task OnQueryAsync(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is not DnsMessage query || query.Questions.Count != 1)
        {
            return Task.CompletedTask;
        }

        Interlocked.Increment(ref _queries);
        var question = query.Questions[0];
        var response = query.CreateResponseInstance();
        response.IsRecursionAllowed = true;
        response.IsAuthenticData = AuthenticData && query.IsDnsSecOk;
        var name = Normalize(question.Name.ToString());
        QueriesByName.AddOrUpdate($"{name} {question.RecordType}", 1, (_, n) => n + 1);

        for (var hops = 0; hops < 8; hops++)
        {
            if (_failures.TryGetValue((name, question.RecordType), out var code))
            {
                response.ReturnCode = code;
                response.IsAuthenticData = false;
                break;
            }

            if (question.RecordType != RecordType.CName && _cnames.TryGetValue(name, out var target))
            {
                response.AnswerRecords.Add(new CNameRecord(DomainName.Parse(name), 60, DomainName.Parse(target)));
                name = target;
                continue;
            }

            if (_records.TryGetValue((name, question.RecordType), out var list))
            {
                lock (list)
                {
                    response.AnswerRecords.AddRange(list);
                }
            }
            else if (!_names.ContainsKey(name))
            {
                response.ReturnCode = ReturnCode.NxDomain;
            }

            break;
        }

        e.Response = response;
        return Task.CompletedTask;
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
    }
}

using System.Globalization;
using System.Net;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// Debian Postfix as the sending MTA of the comparison: smtpd on a loopback port for injection, and smtp
/// delivering to the recipient domain's MX under opportunistic DANE (<c>smtp_tls_security_level = dane</c>,
/// DNSSEC answers from the lab's validating resolver on port 53). Everything else is Postfix's default,
/// among it 20 parallel connections per destination and connection reuse.
/// </summary>
public sealed class PostfixSender : IDisposable
{
    private readonly PostfixInstance _postfix;
    private readonly IPAddress _resolver;

    private PostfixSender(PostfixInstance postfix, IPAddress resolver, int injectPort)
    {
        _postfix = postfix;
        _resolver = resolver;
        InjectPort = injectPort;
    }

    /// <summary>The SMTP port messages are injected at (on <see cref="InjectAddress"/>).</summary>
    public int InjectPort { get; }

    /// <summary>The injection address.</summary>
    public static IPAddress InjectAddress => IPAddress.Loopback;

    /// <summary>Configures and starts the instance.</summary>
    /// <param name="resolver">A validating resolver on port 53 (the lab's Unbound).</param>
    /// <param name="holdDelivery">True = queue everything and deliver nothing (<c>defer_transports = smtp</c>) until <see cref="Release"/>.</param>
    public static async Task<PostfixSender> StartAsync(IPAddress resolver, bool holdDelivery)
    {
        var postfix = PostfixInstance.Create("mtabench-postfix-sender");
        var sender = new PostfixSender(postfix, resolver, FreePort.Next());
        try
        {
            sender.Start(holdDelivery);
            await PostfixInstance.WaitListeningAsync([new IPEndPoint(InjectAddress, sender.InjectPort)]);
            return sender;
        }
        catch
        {
            sender.Dispose();
            throw;
        }
    }

    private void Start(bool holdDelivery) =>
        _postfix.Start($"""
            myhostname = mta.bench.test
            mydomain = sender.test
            myorigin = $myhostname
            mydestination =
            inet_interfaces = {InjectAddress}
            mynetworks = 127.0.0.0/8
            smtpd_relay_restrictions = permit_mynetworks, reject
            relay_domains =
            local_recipient_maps =
            smtp_dns_support_level = dnssec
            smtp_host_lookup = dns
            dnssec_probe =
            smtp_tls_security_level = dane
            smtp_tls_session_cache_database = btree:{_postfix.Directory}/data/smtp_scache
            smtp_tls_loglevel = 1
            {(holdDelivery ? "defer_transports = smtp" : "")}
            """,
            [$"{InjectAddress}:{InjectPort.ToString(CultureInfo.InvariantCulture)} inet n - n - - smtpd"],
            _resolver);

    /// <summary>Messages in the deferred queue (held by <c>defer_transports</c>).</summary>
    public int Deferred => CountFiles(Path.Combine(_postfix.Directory, "queue", "deferred"));

    /// <summary>Stops the instance; the queue stays for <see cref="Release"/>.</summary>
    public void Stop() => _postfix.Stop();

    /// <summary>Starts the stopped instance without the hold and asks it to deliver its whole queue now.</summary>
    public void Release()
    {
        Start(holdDelivery: false);
        _postfix.Command("postqueue", "-f");
    }

    /// <summary>The mail log, for failure messages.</summary>
    public string Log() => _postfix.Log();

    /// <summary>The master process id (CPU accounting).</summary>
    public int MasterPid => _postfix.MasterPid;

    private static int CountFiles(string dir) => Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Count() : 0;

    public void Dispose() => _postfix.Dispose();
}

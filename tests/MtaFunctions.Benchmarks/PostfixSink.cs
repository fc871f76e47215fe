using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Benchmarks;

/// <summary>
/// Debian Postfix as the receiving MX of the throughput benchmark: STARTTLS with the certificate its DANE-EE
/// record names, each message committed to Postfix's queue before the 250 (as Postfix does), then written to a
/// Maildir by virtual(8). A message is "at the sink" when its Maildir file exists.
/// </summary>
public sealed class PostfixSink : IDisposable
{
    private readonly PostfixInstance _postfix;

    private PostfixSink(PostfixInstance postfix) => _postfix = postfix;

    /// <summary>Where delivered messages land, one file each.</summary>
    public string MaildirNew => Path.Combine(_postfix.Directory, "mail", "sink", "new");

    /// <summary>Messages stored so far.</summary>
    public int Count => Directory.Exists(MaildirNew) ? Directory.EnumerateFiles(MaildirNew).Count() : 0;

    /// <summary>Starts the sink for <paramref name="domain"/> on <paramref name="address"/>:25.</summary>
    public static async Task<PostfixSink> StartAsync(string domain, string mxHost, IPAddress address, X509Certificate2 certificate)
    {
        var postfix = PostfixInstance.Create("mtabench-postfix-sink");
        try
        {
            return await StartAsync(postfix, domain, mxHost, address, certificate);
        }
        catch
        {
            postfix.Dispose();
            throw;
        }
    }

    // inet_interfaces names addresses assigned to an interface; the listener binds its own loopback address in master.cf.
    private static async Task<PostfixSink> StartAsync(PostfixInstance postfix, string domain, string mxHost, IPAddress address, X509Certificate2 certificate)
    {
        var dir = postfix.Directory;
        await File.WriteAllTextAsync(Path.Combine(dir, "cert.pem"), certificate.ExportCertificatePem() + "\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "key.pem"), certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem() + "\n");
        var mail = Directory.CreateDirectory(Path.Combine(dir, "mail")).FullName;
        PostfixInstance.Run("chown", $"65534:65534 {mail}");
        postfix.Start($"""
            myhostname = {mxHost}
            mydomain = {domain}
            mydestination =
            inet_interfaces = 127.0.0.1
            mynetworks = 127.0.0.0/8
            smtpd_relay_restrictions = permit_mynetworks, reject
            smtpd_tls_security_level = may
            smtpd_tls_cert_file = {dir}/cert.pem
            smtpd_tls_key_file = {dir}/key.pem
            smtpd_tls_loglevel = 0
            virtual_mailbox_domains = {domain}
            virtual_mailbox_base = {mail}
            virtual_mailbox_maps = static:sink/
            virtual_uid_maps = static:65534
            virtual_gid_maps = static:65534
            local_recipient_maps =
            """,
            [$"{address}:25 inet n - n - - smtpd"]);
        await PostfixInstance.WaitListeningAsync([new IPEndPoint(address, 25)]);
        return new PostfixSink(postfix);
    }

    /// <summary>Waits until <paramref name="count"/> messages are stored.</summary>
    /// <exception cref="TimeoutException">Not within <paramref name="timeout"/>; the message gives the count and the log's tail.</exception>
    public async Task WaitForAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the sink has {Count} of {count} messages after {timeout.TotalMinutes:0} min; its log ends: {string.Join('\n', Log().Split('\n').TakeLast(10))}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Deletes every stored message.</summary>
    public void Clear()
    {
        foreach (var file in Directory.Exists(MaildirNew) ? Directory.GetFiles(MaildirNew) : [])
        {
            File.Delete(file);
        }
    }

    /// <summary>The sink's mail log.</summary>
    public string Log() => _postfix.Log();

    /// <summary>The master process id (CPU accounting).</summary>
    public int MasterPid => _postfix.MasterPid;

    public void Dispose() => _postfix.Dispose();
}

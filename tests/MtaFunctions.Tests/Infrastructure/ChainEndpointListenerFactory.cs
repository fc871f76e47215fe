using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.IO;
using SmtpServer.Net;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>
/// An SmtpServer listener whose STARTTLS sends a whole chain (leaf and intermediates), which SmtpServer's
/// own listener cannot: DANE-TA needs the trust anchor on the wire (RFC 7671 §5.2.2). It also keeps the SNI
/// each handshake carried.
/// </summary>
/// <param name="leaf">The server certificate, with its key.</param>
/// <param name="intermediates">Certificates sent after the leaf.</param>
public sealed class ChainEndpointListenerFactory(X509Certificate2 leaf, IReadOnlyList<X509Certificate2> intermediates) : IEndpointListenerFactory
{
    private readonly SslStreamCertificateContext _context =
        SslStreamCertificateContext.Create(leaf, [.. intermediates], offline: true);

    /// <summary>The SNI host name of every handshake, in order.</summary>
    public ConcurrentQueue<string> ServerNames { get; } = new();

    /// <inheritdoc />
    public IEndpointListener CreateListener(IEndpointDefinition endpointDefinition)
    {
        var listener = new TcpListener(endpointDefinition.Endpoint);
        listener.Start();
        return new Listener(this, listener);
    }

    private sealed class Listener(ChainEndpointListenerFactory owner, TcpListener listener) : IEndpointListener
    {
        public async Task<ISecurableDuplexPipe> GetPipeAsync(ISessionContext context, CancellationToken cancellationToken)
        {
            var client = await listener.AcceptTcpClientAsync(cancellationToken).ConfigureAwait(false);
            context.Properties[EndpointListener.LocalEndPointKey] = client.Client.LocalEndPoint!;
            context.Properties[EndpointListener.RemoteEndPointKey] = client.Client.RemoteEndPoint!;
            return new Pipe(owner, client);
        }

        public void Dispose() => listener.Stop();
    }

    private sealed class Pipe : ISecurableDuplexPipe
    {
        private readonly ChainEndpointListenerFactory _owner;
        private readonly TcpClient _client;
        private Stream _stream;

        public Pipe(ChainEndpointListenerFactory owner, TcpClient client)
        {
            _owner = owner;
            _client = client;
            _stream = client.GetStream();
            Input = PipeReader.Create(_stream);
            Output = PipeWriter.Create(_stream);
        }

        public PipeReader Input { get; private set; }

        public PipeWriter Output { get; private set; }

        public bool IsSecure => _stream is SslStream;

        public SslProtocols SslProtocol => (_stream as SslStream)?.SslProtocol ?? SslProtocols.None;

        public async Task UpgradeAsync(X509Certificate certificate, SslProtocols protocols, CancellationToken cancellationToken)
        {
            var ssl = new SslStream(_stream, true);
            await ssl.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = _owner._context,
                    EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                    ClientCertificateRequired = false,
                },
                cancellationToken).ConfigureAwait(false);
            _owner.ServerNames.Enqueue(ssl.TargetHostName);
            _stream = ssl;
            Input = PipeReader.Create(_stream);
            Output = PipeWriter.Create(_stream);
        }

        public void Dispose()
        {
            _stream.Dispose();
            _client.Dispose();
        }
    }
}

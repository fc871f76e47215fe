namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>An HTTP answer of the TLS-RPT routes, independent of the host that sends it.</summary>
/// <param name="StatusCode">HTTP status.</param>
/// <param name="ContentType">Media type of <paramref name="Body"/>.</param>
/// <param name="Body">The body text.</param>
public sealed record TlsRptHttpResponse(int StatusCode, string ContentType, string Body);

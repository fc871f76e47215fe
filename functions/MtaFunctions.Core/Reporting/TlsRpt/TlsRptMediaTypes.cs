namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>The media types RFC 8460 §6.4/§6.5 registers for reports, and the generic ones reporters also send.</summary>
public static class TlsRptMediaTypes
{
    /// <summary>An uncompressed JSON report.</summary>
    public const string Json = "application/tlsrpt+json";

    /// <summary>A gzip-compressed JSON report (RFC 8460 §5.2: SHOULD be used for email and HTTPS).</summary>
    public const string Gzip = "application/tlsrpt+gzip";

    /// <summary>Generic JSON, tolerated on input.</summary>
    public const string PlainJson = "application/json";

    /// <summary>Generic gzip, tolerated on input.</summary>
    public const string PlainGzip = "application/gzip";

    /// <summary>The MIME report-type parameter of a mailed report (RFC 8460 §5.3).</summary>
    public const string ReportType = "tlsrpt";
}

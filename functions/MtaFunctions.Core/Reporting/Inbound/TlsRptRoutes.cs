namespace MtaFunctions.Core.Reporting.Inbound;

/// <summary>The HTTP routes of inbound TLS reports, shared by the Function App and LocalHost (under <c>/api/</c>).</summary>
public static class TlsRptRoutes
{
    /// <summary>The route prefix of the Function App (host.json default).</summary>
    public const string Prefix = "api";

    /// <summary>POST a report (RFC 8460 §5.4): the URL to publish as https rua.</summary>
    public const string Report = "tlsrpt";

    /// <summary>POST a whole mailed report (RFC 5322 message).</summary>
    public const string Mail = "tlsrpt/mail";

    /// <summary>GET the summary JSON (<c>?domain=&amp;from=&amp;to=</c>).</summary>
    public const string Summary = "tlsrpt/summary";

    /// <summary>GET the dashboard page.</summary>
    public const string Dashboard = "tlsrpt/dashboard";
}

namespace MtaFunctions.Core.Operations;

/// <summary>The HTTP routes of the outbound view, shared by the Function App and LocalHost (under <c>/api/</c>, beside <c>tlsrpt/</c>).</summary>
public static class OutboundRoutes
{
    /// <summary>GET the summary JSON (<c>?hours=</c>).</summary>
    public const string Summary = "outbound/summary";

    /// <summary>GET the dashboard page.</summary>
    public const string Dashboard = "outbound/dashboard";
}

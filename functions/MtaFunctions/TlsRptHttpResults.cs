using Microsoft.AspNetCore.Mvc;
using MtaFunctions.Core.Reporting.Inbound;

namespace MtaFunctions;

/// <summary>Turns a handler's answer into the ASP.NET Core result the Functions host sends.</summary>
internal static class TlsRptHttpResults
{
    public static IActionResult ToResult(this TlsRptHttpResponse response) =>
        new ContentResult { StatusCode = response.StatusCode, ContentType = response.ContentType, Content = response.Body };
}

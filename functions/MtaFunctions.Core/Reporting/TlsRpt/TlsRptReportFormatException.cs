namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>The input is not an RFC 8460 report: it names the field and what is wrong with it.</summary>
/// <param name="field">The JSON path of the offending field, e.g. <c>policies[0].summary.total-failure-session-count</c>.</param>
/// <param name="problem">What is wrong and what is allowed.</param>
public sealed class TlsRptReportFormatException(string field, string problem)
    : FormatException($"tls-rpt report: {field}: {problem}")
{
    /// <summary>The JSON path of the offending field (<c>report</c> for the document itself).</summary>
    public string Field { get; } = field;

    /// <summary>What is wrong with it.</summary>
    public string Problem { get; } = problem;
}

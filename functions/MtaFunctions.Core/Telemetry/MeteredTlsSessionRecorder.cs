using MtaFunctions.Core.Reporting.Outbound;
using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Telemetry;

/// <summary>
/// Counts every TLS session the delivery records for TLS-RPT (<c>mtafunctions.tls.sessions</c>), then hands it on
/// (to the report counter, or nowhere when reports are off: the metric counts either way).
/// </summary>
public sealed class MeteredTlsSessionRecorder(ITlsSessionRecorder inner) : ITlsSessionRecorder
{
    public void Record(TlsSessionResult result)
    {
        MtaTelemetry.TlsSessions.Add(
            1,
            new KeyValuePair<string, object?>("tlsrpt.result.type", result.Failure?.ToWire() ?? "success"),
            new KeyValuePair<string, object?>("tlsrpt.policy.type", result.Policy.Type.ToWire()));
        inner.Record(result);
    }
}

using MtaFunctions.Core.Reporting.TlsRpt;

namespace MtaFunctions.Core.Policy.Dane;

/// <summary>
/// The check of an MX whose TLSA records are all unusable: TLS is mandatory but unauthenticated
/// (RFC 7672 §2.2; Postfix "encrypt"), and the session is marked <c>tlsa-invalid</c> for the record.
/// </summary>
/// <param name="records">The unusable RRset.</param>
public sealed class TlsaUnusableCertificateCheck(TlsaRecordSet records) : ICertificateCheck
{
    /// <inheritdoc />
    public string ReuseKey => $"tlsa-unusable {records.BaseDomain}";

    /// <inheritdoc />
    public CertificateVerdict Check(CertificateContext context) =>
        new(Accept: true, Verified: false, TlsRptResultType.TlsaInvalid, $"no usable TLSA record at _25._tcp.{records.BaseDomain}; TLS without authentication");
}

using MtaFunctions.Tests.Infrastructure;

namespace MtaFunctions.Tests.Reporting.TlsRpt;

/// <summary>Reports of other senders kept under <c>Fixtures/</c>, read from the repository.</summary>
public static class TlsRptFixtures
{
    /// <summary>RFC 8460 Appendix B exactly as printed (a raw line break inside a string, mx-host a string).</summary>
    public const string AppendixBPrinted = "rfc8460-appendix-b-printed.json";

    /// <summary>RFC 8460 Appendix B with only the printed line wrap joined: valid JSON, mx-host still a string.</summary>
    public const string AppendixBJoined = "rfc8460-appendix-b-joined.json";

    /// <summary>RFC 8460 Appendix B normalized (mx-host an array, the URL on one line), as stalwartlabs/mail-auth keeps it.</summary>
    public const string AppendixBNormalized = "rfc8460-appendix-b-normalized.json";

    /// <summary>Google's shape: no mx-host, report-id "&lt;start&gt;_&lt;domain&gt;", end 23:59:59Z, compact JSON.</summary>
    public const string GoogleSts = "google-sts.json";

    /// <summary>Google's shape with no-policy-found and an unknown policy type (mail-auth's rpt03 case).</summary>
    public const string GoogleNoPolicy = "google-no-policy.json";

    /// <summary>Microsoft's shape: no sending-mta-ip, no mx-host, report-id "&lt;ticks&gt;+&lt;domain&gt;", a fractional end time.</summary>
    public const string MicrosoftSts = "microsoft-sts.json";

    /// <summary>Microsoft's shape for a policy fetch error: no policy-string.</summary>
    public const string MicrosoftFetchError = "microsoft-fetch-error.json";

    /// <summary>The folder of the fixtures.</summary>
    public static string Folder { get; } = Path.Combine(RepoPaths.Root, "tests", "MtaFunctions.Tests", "Reporting", "TlsRpt", "Fixtures");

    /// <summary>The bytes of a fixture.</summary>
    public static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(Folder, name));
}

namespace MtaFunctions.Core.Operations;

/// <summary>The outbound dashboard page: one self-contained HTML file (inline script and SVG, no build step, no CDN), embedded in this assembly.</summary>
public static class OutboundDashboard
{
    /// <summary>The logical name of the embedded resource.</summary>
    public const string ResourceName = "MtaFunctions.Core.Operations.OutboundDashboard.html";

    /// <summary>The page.</summary>
    public static string Html { get; } = Load();

    private static string Load()
    {
        using var stream = typeof(OutboundDashboard).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

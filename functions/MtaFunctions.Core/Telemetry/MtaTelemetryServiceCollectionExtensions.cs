using Azure.Core;
using Azure.Identity;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MtaFunctions.Core.Reporting.Inbound;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MtaFunctions.Core.Telemetry;

/// <summary>Exports the app's traces, metrics and logs: Application Insights and/or OTLP, by app setting.</summary>
public static class MtaTelemetryServiceCollectionExtensions
{
    /// <summary>The standard app setting of Application Insights (the Bicep writes it).</summary>
    public const string AppInsightsConnectionString = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary><c>ClientId=...;Authorization=AAD</c>: send with that managed identity (the resource has local auth off).</summary>
    public const string AppInsightsAuthentication = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

    /// <summary>The standard OpenTelemetry setting: export by OTLP to this endpoint.</summary>
    public const string OtlpEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary><c>grpc</c> (default) or <c>http/protobuf</c>.</summary>
    public const string OtlpProtocol = "OTEL_EXPORTER_OTLP_PROTOCOL";

    /// <summary>
    /// Adds OpenTelemetry with the app's source and meters when <see cref="AppInsightsConnectionString"/> or
    /// <see cref="OtlpEndpoint"/> is set; otherwise nothing (the instruments cost next to nothing unheard).
    /// </summary>
    /// <returns>The builder, for host-specific additions (the Functions worker defaults); null when not configured.</returns>
    /// <exception cref="Configuration.SettingsException">The OTLP endpoint or protocol is not valid.</exception>
    public static IOpenTelemetryBuilder? AddMtaTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        var appInsights = Configuration.SettingsReader.Text(configuration, AppInsightsConnectionString);
        var otlp = Configuration.SettingsReader.Text(configuration, OtlpEndpoint);
        if (appInsights is null && otlp is null)
        {
            return null;
        }

        var builder = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(serviceName))
            .WithTracing(t => t.AddSource(MtaTelemetry.Name))
            .WithMetrics(m => m.AddMeter(MtaTelemetry.Name, FailureRateMonitor.MeterName))
            .WithLogging();
        if (appInsights is not null)
        {
            var credential = Credential(Configuration.SettingsReader.Text(configuration, AppInsightsAuthentication));
            builder.UseAzureMonitorExporter(o =>
            {
                o.ConnectionString = appInsights;
                o.Credential = credential;

                // The exporter's default sampler keeps about 5 traces a second, adaptively, and drops attempts of a
                // quiet instance that come in a burst; every delivery attempt is traced, as the OTLP export does.
                o.TracesPerSecond = null;
                o.SamplingRatio = 1.0F;
            });
        }

        if (otlp is not null)
        {
            if (!Uri.TryCreate(otlp, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            {
                throw new Configuration.SettingsException(OtlpEndpoint, $"'{otlp}' is not an http(s) URL");
            }

            var protocol = Configuration.SettingsReader.Text(configuration, OtlpProtocol) switch
            {
                null or "grpc" => OtlpExportProtocol.Grpc,
                "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
                var other => throw new Configuration.SettingsException(OtlpProtocol, $"'{other}' is not one of grpc, http/protobuf"),
            };
            builder.UseOtlpExporter(protocol, endpoint);
        }

        services.AddHostedService<QueueMetricsSampler>();
        return builder;
    }

    // Application Insights with local auth off takes Entra ID tokens only: the user-assigned identity named here.
    private static TokenCredential? Credential(string? authentication)
    {
        if (authentication is null)
        {
            return null;
        }

        var parts = authentication.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2))
            .Where(p => p.Length == 2)
            .ToDictionary(p => p[0], p => p[1], StringComparer.OrdinalIgnoreCase);
        if (!string.Equals(parts.GetValueOrDefault("Authorization"), "AAD", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return parts.TryGetValue("ClientId", out var clientId) && clientId.Length > 0
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
    }
}

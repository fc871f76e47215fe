using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MtaFunctions.Core;
using MtaFunctions.Core.Configuration;
using MtaFunctions.LocalHost;
using MtaFunctions.Tests.Infrastructure;
using MtaFunctions.Tests.Reporting.Outbound;

namespace MtaFunctions.Tests.Infra;

/// <summary>
/// The Function App's service collection (Program.cs: AddMtaCore on the app settings) started on exactly the
/// app settings the compiled template writes for an azd environment (<see cref="BicepSnapshot"/>), with only
/// the deployment-time references filled in as Azure fills them (<see cref="DeployedAppSettings"/>). Nothing
/// is started that would leave the machine (the DANE resolver probe and the results flusher stay stopped).
/// </summary>
public sealed class TemplateSettingsStartupTests
{
    private static readonly Dictionary<string, string> DkimSecrets = new(StringComparer.Ordinal)
    {
        ["dkim-rsa"] = TestDkimKeys.Rsa.Pem,
        ["dkim-ed25519"] = TestDkimKeys.Ed25519.Pem,
    };

    [Fact]
    public async Task AzdUp_OnlyEnvironmentAndLocation_AppStartsWithReportsOffAndNoError()
    {
        var snapshot = await Snapshot();
        await using var app = App.Start(DeployedAppSettings.Resolve(snapshot.AppSettings(), DkimSecrets));

        Assert.Equal(TlsReportFrequency.Never, app.Settings.Report.Send);
        Assert.Null(app.Settings.Report.Problem);
        Assert.Null(app.Settings.TlsRptInbound.Problem);
        Assert.DoesNotContain(app.Logs.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task AzdUp_MailDomainAndKeysCreated_AppStartsSendingSignedDailyReports()
    {
        var snapshot = await Snapshot(("MAIL_DOMAIN", "example.com"));
        await using var app = App.Start(DeployedAppSettings.Resolve(snapshot.AppSettings(), DkimSecrets));

        // The template's defaults (host mta.<domain>, contact postmaster@<domain>) used to stop the app
        // (RFC 8460 §5.3: the submitter must be the contact's domain); now they are consistent.
        var report = app.Settings.Report;
        Assert.Null(report.Problem);
        Assert.Equal(TlsReportFrequency.Daily, report.Send);
        Assert.Equal("example.com", report.Submitter);
        Assert.Equal("postmaster@example.com", report.ContactInfo);
        Assert.Equal(["rsa", "ed25519"], report.Sign.Select(s => s.Name));
        Assert.Equal("mta.example.com", app.Settings.Outbound.Hostname);
        Assert.Equal(["example.com"], app.Settings.TlsRptInbound.Domains);
        Assert.DoesNotContain(app.Logs.Entries, e => e.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task AzdUp_MailDomainBeforeKeysExist_AppStartsAndSaysWhyReportsAreOff()
    {
        var snapshot = await Snapshot(("MAIL_DOMAIN", "example.com"));
        var appSettings = DeployedAppSettings.Resolve(snapshot.AppSettings(), new Dictionary<string, string>());
        await using var app = App.Start(appSettings);

        // Delivery is configured as the template says ...
        Assert.Equal("mta.example.com", app.Settings.Outbound.Hostname);
        Assert.NotNull(app.Services.GetRequiredService<Core.Delivery.OutboundDeliveryHandler>());

        // ... and reports are off, saying why: in the start-up log and in `tlsrpt pending`.
        var problem = app.Settings.Report.Problem;
        Assert.NotNull(problem);
        Assert.Equal(TlsReportFrequency.Never, app.Settings.Report.Send);
        Assert.Equal("Report:Dkim:rsa:PrivateKey", problem.Key);
        Assert.Contains("Key Vault reference", problem.Message, StringComparison.Ordinal);
        Assert.Contains("infra/dkim-keys.sh", problem.Message, StringComparison.Ordinal);
        var error = Assert.Single(app.Logs.Entries, e => e.Level == LogLevel.Error);
        Assert.Contains("Outgoing TLS reports are OFF (delivery runs)", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem.Message, error.Message, StringComparison.Ordinal);

        var run = await Tool.ToolRun.RunAsync(["tlsrpt", "pending", .. appSettings.SelectMany(s => new[] { "--set", $"{s.Key}={s.Value}" })]);
        Assert.True(run.Exit == 1, run.ToString());
        Assert.Contains($"TLS reports are OFF because a report setting cannot be used (delivery runs): {problem.Message}", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AzdUp_VnetAndMailDomain_AppStartsWithTheNatIpAsEgressAddress()
    {
        var snapshot = await Snapshot(("MAIL_DOMAIN", "example.com"), ("VNET_ENABLED", "true"), ("EGRESS_REVERSE_FQDN", "mta.example.com."));
        var settings = DeployedAppSettings.Resolve(snapshot.AppSettings(), DkimSecrets);
        Assert.Equal(DeployedAppSettings.EgressIp, settings["Queue__Outbound__EgressIps"]);
        await using var app = App.Start(settings);

        Assert.Equal([System.Net.IPAddress.Parse(DeployedAppSettings.EgressIp)], app.Settings.Outbound.EgressIps);
        Assert.Null(app.Settings.Report.Problem);
        Assert.DoesNotContain(app.Logs.Entries, e => e.Level >= LogLevel.Error);
    }

    private static Task<BicepSnapshot> Snapshot(params (string Name, string Value)[] environment)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["AZURE_ENV_NAME"] = "test",
            ["AZURE_LOCATION"] = "swedencentral",
        };
        foreach (var (name, value) in environment)
        {
            values[name] = value;
        }

        return BicepSnapshot.OfAzdEnvironmentAsync(values);
    }

    /// <summary>The app's services built as Program.cs builds them, every function class constructed.</summary>
    internal sealed class App : IAsyncDisposable
    {
        private App(ServiceProvider services, ListLoggerProvider logs)
        {
            Services = services;
            Logs = logs;
        }

        public ServiceProvider Services { get; }

        public ListLoggerProvider Logs { get; }

        public MtaSettings Settings => Services.GetRequiredService<MtaSettings>();

        public static App Start(IReadOnlyDictionary<string, string> appSettings)
        {
            // App settings reach the worker as environment variables: `__` is the section separator.
            var config = new ConfigurationBuilder()
                .AddInMemoryCollection(appSettings.Select(s => new KeyValuePair<string, string?>(s.Key.Replace("__", ":", StringComparison.Ordinal), s.Value)))
                .Build();
            var logs = new ListLoggerProvider();
            var services = new ServiceCollection()
                .AddLogging(l => l.AddProvider(logs))
                .AddMtaCore(config)
                .BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

            // Every trigger class of the Function App can be made (the worker makes them per invocation).
            var functionClasses = typeof(DeliverOutbound).Assembly.GetTypes()
                .Where(t => t.GetMethods().Any(m => m.GetCustomAttribute<FunctionAttribute>() is not null))
                .ToList();
            Assert.Contains(typeof(DeliverOutbound), functionClasses);
            foreach (var type in functionClasses)
            {
                Assert.NotNull(ActivatorUtilities.CreateInstance(services, type));
            }

            var hosted = services.GetServices<IHostedService>().ToList();
            hosted.OfType<ReportingSettingsProblemLog>().Single().StartAsync(CancellationToken.None).GetAwaiter().GetResult();
            return new App(services, logs);
        }

        public ValueTask DisposeAsync() => Services.DisposeAsync();
    }
}

using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MtaFunctions.Core;
using MtaFunctions.Core.Telemetry;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddMtaCore(builder.Configuration);

// Traces, metrics and logs to Application Insights (APPLICATIONINSIGHTS_CONNECTION_STRING) and/or OTLP
// (OTEL_EXPORTER_OTLP_ENDPOINT), with the worker's own invocation spans as parents of the delivery's.
builder.Services.AddMtaTelemetry(builder.Configuration, "MtaFunctions")?.UseFunctionsWorkerDefaults();
builder.Build().Run();

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace MtaFunctions.Tests.Infrastructure;

/// <summary>Keeps every log entry (level, category, event id, formatted text) for assertions.</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    /// <summary>What was logged, in order.</summary>
    public ConcurrentQueue<(LogLevel Level, string Category, EventId EventId, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new ListLogger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            provider.Entries.Enqueue((logLevel, category, eventId, formatter(state, exception)));
    }
}

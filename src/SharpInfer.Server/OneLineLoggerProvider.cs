using Microsoft.Extensions.Logging;

namespace SharpInfer.Server;

/// <summary>ASP.NET Core's warnings and errors as one line each on the server's log (never a stack trace).</summary>
internal sealed class OneLineLoggerProvider(TextWriter log) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(log);

    public void Dispose()
    {
    }

    private sealed class Logger(TextWriter log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            string message = formatter(state, exception);
            if (exception is not null) message += ": " + exception.Message;
            string level = logLevel >= LogLevel.Error ? "error" : "warning";
            lock (log) log.WriteLine($"{level}: {message.ReplaceLineEndings(" ")}");
        }
    }
}

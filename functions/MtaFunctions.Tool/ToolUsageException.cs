namespace MtaFunctions.Tool;

/// <summary>The command line was understood by the parser but asks for something impossible (exit code 2).</summary>
public sealed class ToolUsageException(string message) : Exception(message);

/// <summary>The verb ran and failed in a way the operator must see (exit code 1), e.g. an unknown message id.</summary>
public sealed class ToolFailureException(string message) : Exception(message);

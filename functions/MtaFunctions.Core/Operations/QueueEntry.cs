namespace MtaFunctions.Core.Operations;

/// <summary>One message waiting for one destination domain, as <c>mta queue list</c> shows it.</summary>
/// <param name="MessageId">The message id.</param>
/// <param name="Domain">The destination domain.</param>
/// <param name="Recipients">Recipients at that domain still waiting.</param>
/// <param name="State"><c>queued</c> (visible, not yet attempted or due now) or <c>deferred</c> (waiting for its next attempt).</param>
/// <param name="Attempts">Attempts made so far.</param>
/// <param name="QueuedAt">When the producer queued it.</param>
/// <param name="NextAttemptAt">When the next attempt is due (deferred only).</param>
/// <param name="LastReply">The last SMTP reply or local error.</param>
/// <param name="MxHost">MX host of the last session.</param>
/// <param name="CancelRequested"><c>bounce</c> or <c>drop</c> when an operator cancelled it and the attempt that ends it has not run yet.</param>
public sealed record QueueEntry(
    string MessageId, string Domain, IReadOnlyList<string> Recipients, string State, int Attempts, DateTimeOffset? QueuedAt,
    DateTimeOffset? NextAttemptAt, string? LastReply, string? MxHost, string? CancelRequested);

/// <summary>What happened to one retry message an operator asked to bring forward.</summary>
/// <param name="MessageId">The message id.</param>
/// <param name="Domain">The destination domain.</param>
/// <param name="Result"><c>visible-now</c>, <c>gone</c> (already taken by the delivery or expired) or <c>no-receipt</c> (deferred before receipts were kept: it runs at its scheduled time).</param>
public sealed record RetryResult(string MessageId, string Domain, string Result);

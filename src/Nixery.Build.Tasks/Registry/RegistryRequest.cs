namespace Nixery.Build.Registry;

/// <summary>
/// One request to a registry as the handler chain sees it: a name for messages, a way to build the message
/// afresh for every try (a body is re-opened from the blob, never buffered), and how to send it. Each message
/// carries its request in <see cref="HttpRequestMessage.Options"/>, so that every handler can read these settings
/// and build the message again (<see cref="Of"/>, <see cref="CreateMessage"/>).
/// </summary>
/// <param name="What">What the request does, for messages: <c>check blob sha256:…</c>, <c>push manifest for tag latest</c>.</param>
/// <param name="Create">Builds the request message; called once per try.</param>
internal sealed record RegistryRequest(string What, Func<HttpRequestMessage> Create)
{
    private static readonly HttpRequestOptionsKey<RegistryRequest> Key = new("Nixery.Build.RegistryRequest");

    /// <summary>Scopes the request needs (<c>repository:app:pull,push</c>); answers the registry's challenges when true.</summary>
    public bool Authenticate { get; init; } = true;

    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>False for upload bodies: a transient failure is thrown as <see cref="RegistryTransientException"/> at once.</summary>
    public bool Retry { get; init; } = true;

    /// <summary>
    /// For a request with a body read from a blob: told of every chunk read, so that a long upload that keeps moving
    /// never times out, while one that stalls does (see <see cref="ProgressTimeoutHandler"/>).
    /// </summary>
    public RequestActivity? Activity { get; init; }

    /// <summary>
    /// True for a blob download: the answer's body is handed on as a stream (never buffered), read under the same
    /// watchdog, each read pushing its deadline back (see <see cref="ProgressTimeoutHandler"/>).
    /// </summary>
    public bool StreamAnswer { get; init; }

    /// <summary>
    /// The most bytes an answer read whole may have (manifests, indexes, tokens, error bodies): 4 MiB, as registries
    /// limit manifests. A longer answer ends the request with <see cref="RegistryAnswerTooLargeException"/>, never retried.
    /// </summary>
    public const int MaxAnswerSize = 4 << 20;

    /// <summary>The request a message was built for, if any.</summary>
    public static RegistryRequest? Of(HttpRequestMessage message) =>
        message.Options.TryGetValue(Key, out var request) ? request : null;

    /// <summary>A new message for one try: built afresh (its body opened again), named, and carrying this request.</summary>
    public HttpRequestMessage CreateMessage()
    {
        var message = Create();
        message.Headers.UserAgent.ParseAdd("Nixery.Build");
        message.Options.Set(Key, this);
        return message;
    }
}

/// <summary>
/// The watchdog of one try: every sign of progress (bytes of the request body read) pushes its deadline back by the
/// client's timeout. Without progress the try ends at the deadline: a registry that accepts a connection and never
/// answers, or trickles its answer, cannot hold a build for longer.
/// </summary>
internal sealed class RequestActivity
{
    private CancellationTokenSource? _deadline;
    private TimeSpan _timeout;

    public void Watch(CancellationTokenSource deadline, TimeSpan timeout)
    {
        _timeout = timeout;
        _deadline = deadline;
    }

    public void Progressed()
    {
        try
        {
            _deadline?.CancelAfter(_timeout);
        }
        catch (ObjectDisposedException)
        {
            // The try is over.
        }
    }
}

/// <summary>A registry's answer that runs past what it may be (<see cref="RegistryRequest.MaxAnswerSize"/>, or a blob's declared size): an input error, not a broken connection.</summary>
internal sealed class RegistryAnswerTooLargeException(string what, long limit) : Exception($"the answer to '{what}' runs past {limit} bytes")
{
    public string What { get; } = what;

    public long Limit { get; } = limit;
}

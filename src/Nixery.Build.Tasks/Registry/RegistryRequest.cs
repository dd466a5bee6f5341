namespace Nixery.Build.Registry;

/// <summary>
/// One request to a registry as the retrying sender sees it: a name for messages, a way to build the message
/// afresh for every try (a body is re-opened from the blob, never buffered), and how to send it.
/// </summary>
/// <param name="What">What the request does, for messages: <c>check blob sha256:…</c>, <c>push manifest for tag latest</c>.</param>
/// <param name="Create">Builds the request message; called once per try.</param>
internal sealed record RegistryRequest(string What, Func<HttpRequestMessage> Create)
{
    /// <summary>Scopes the request needs (<c>repository:app:pull,push</c>); answers the registry's challenges when true.</summary>
    public bool Authenticate { get; init; } = true;

    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>False for upload bodies: a transient failure is thrown as <see cref="RegistryTransientException"/> at once.</summary>
    public bool Retry { get; init; } = true;

    /// <summary>How long one try may take, headers of the answer included.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(100);
}

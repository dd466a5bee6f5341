using System.Net;

namespace Nixery.Build.Registry;

/// <summary>
/// A try that went wrong in a way worth another try: a retryable status or a broken connection. Thrown by
/// requests sent without their own retries (upload bodies), so the uploader can decide how to go on (resume,
/// or start the upload again) and count the tries itself.
/// </summary>
public sealed class RegistryTransientException : Exception
{
    public RegistryTransientException(string what, HttpStatusCode? status, string? reason, TimeSpan? retryAfter, Exception? innerException)
        : base(Describe(status, reason, innerException), innerException)
    {
        What = what;
        Status = status;
        RetryAfter = retryAfter;
    }

    /// <summary>The request, as messages name it (<c>upload chunk of sha256:…</c>).</summary>
    public string What { get; }

    public HttpStatusCode? Status { get; }

    public TimeSpan? RetryAfter { get; }

    internal static string Describe(HttpStatusCode? status, string? reason, Exception? exception) =>
        status is { } code
            ? $"{(int)code} {reason ?? code.ToString()}"
            : Innermost(exception)?.Message ?? "no answer";

    private static Exception? Innermost(Exception? exception)
    {
        // HttpRequestException says "An error occurred while sending the request"; the socket error below says what.
        var e = exception;
        while (e?.InnerException is not null && e is not TimeoutException)
        {
            e = e.InnerException;
        }

        return e switch
        {
            // The client's own deadline says how long it waited.
            TimeoutException timeout when timeout.Message.StartsWith("no progress", StringComparison.Ordinal) => timeout,
            OperationCanceledException or TimeoutException => new TimeoutException("timed out"),
            _ => e,
        };
    }
}

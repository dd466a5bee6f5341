using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;

namespace Nixery.Build.Registry;

/// <summary>
/// When and how long to wait before trying a registry request again: 5xx (but 501 and 505), 408 and 429, a
/// reset or refused connection, and a timeout are retried with bounded exponential backoff and jitter, up to
/// <see cref="MaxAttempts"/> tries in all; a <c>Retry-After</c> from the registry is honoured (up to
/// <see cref="MaxRetryAfter"/>). Other 4xx are answers, not accidents, and are never retried; 401 is the
/// authentication flow's business. The delay and the jitter are injected so tests never sleep.
/// </summary>
public sealed class RetryPolicy
{
    public static RetryPolicy Default { get; } = new();

    /// <summary>Tries in all, the first included.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>The wait before the first retry; each retry doubles it.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromSeconds(0.5);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The longest <c>Retry-After</c> honoured; a longer one is cut to this.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Waits (tests pass one that records and returns at once).</summary>
    public Func<TimeSpan, CancellationToken, Task> Delay { get; init; } = Task.Delay;

    /// <summary>A number in [0, 1) for the jitter.</summary>
    public Func<double> Jitter { get; init; } = Random.Shared.NextDouble;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// The wait after <paramref name="failures"/> failed tries (1 for the first): the registry's
    /// <c>Retry-After</c> when it gave one, else <c>BaseDelay·2^(failures-1)</c> capped at <see cref="MaxDelay"/>,
    /// of which a random half is taken off ("equal jitter", so concurrent uploads do not retry in step).
    /// </summary>
    public TimeSpan DelayAfter(int failures, TimeSpan? retryAfter = null)
    {
        if (retryAfter is { } asked)
        {
            return asked < TimeSpan.Zero ? TimeSpan.Zero : asked > MaxRetryAfter ? MaxRetryAfter : asked;
        }

        var exponent = Math.Clamp(failures - 1, 0, 30);
        var backoff = Math.Min(BaseDelay.TotalMilliseconds * Math.Pow(2, exponent), MaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds((backoff / 2) + (backoff / 2 * Jitter()));
    }

    /// <summary>Whether an answer with this status is worth another try.</summary>
    public static bool IsRetryable(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
        || ((int)status >= 500 && status is not HttpStatusCode.NotImplemented and not HttpStatusCode.HttpVersionNotSupported);

    /// <summary>
    /// Whether a failure to get an answer is worth another try: a refused or reset connection, a broken
    /// stream, or a timeout (a cancellation that was not asked for). TLS failures are not: the certificate will
    /// not change by itself.
    /// </summary>
    public static bool IsRetryable(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        HttpRequestException http => !IsTlsFailure(http),
        IOException => true,
        TimeoutException => true,
        _ => false,
    };

    /// <summary>Whether the request failed in the TLS handshake (an untrusted or unreadable certificate).</summary>
    public static bool IsTlsFailure(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is AuthenticationException)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The wait a <c>Retry-After</c> header asks for (seconds or an HTTP date), if any.</summary>
    public TimeSpan? RetryAfter(RetryConditionHeaderValue? header)
    {
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - Time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        return null;
    }
}

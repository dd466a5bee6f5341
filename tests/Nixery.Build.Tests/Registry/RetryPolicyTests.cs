using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;
using Nixery.Build.Registry;

namespace Nixery.Build.Tests.Registry;

public class RetryPolicyTests
{
    private static RetryPolicy Policy(double jitter) => new() { Jitter = () => jitter };

    [Theory]
    [InlineData(1, 0.5)]
    [InlineData(2, 1.0)]
    [InlineData(3, 2.0)]
    [InlineData(4, 4.0)]
    [InlineData(5, 8.0)]
    [InlineData(6, 15.0)]
    [InlineData(40, 15.0)]
    public void BackoffDoublesUpToTheCapAndJitterTakesOffUpToHalf(int failures, double backoffSeconds)
    {
        Assert.Equal(backoffSeconds / 2, Policy(0).DelayAfter(failures).TotalSeconds, 6);
        Assert.Equal(backoffSeconds * 0.75, Policy(0.5).DelayAfter(failures).TotalSeconds, 6);
        Assert.True(Policy(0.999).DelayAfter(failures).TotalSeconds < backoffSeconds);
    }

    [Fact]
    public void RetryAfterIsHonouredAndCapped()
    {
        var policy = Policy(0.5);
        Assert.Equal(TimeSpan.FromSeconds(7), policy.DelayAfter(1, TimeSpan.FromSeconds(7)));
        Assert.Equal(TimeSpan.FromSeconds(60), policy.DelayAfter(1, TimeSpan.FromHours(2)));
        Assert.Equal(TimeSpan.Zero, policy.DelayAfter(3, TimeSpan.FromSeconds(-5)));
    }

    [Fact]
    public void RetryAfterReadsSecondsAndDates()
    {
        var now = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var policy = new RetryPolicy { Time = new FixedTime(now) };
        Assert.Equal(TimeSpan.FromSeconds(12), policy.RetryAfter(new RetryConditionHeaderValue(TimeSpan.FromSeconds(12))));
        Assert.Equal(TimeSpan.FromSeconds(30), policy.RetryAfter(new RetryConditionHeaderValue(now.AddSeconds(30))));
        Assert.Equal(TimeSpan.Zero, policy.RetryAfter(new RetryConditionHeaderValue(now.AddSeconds(-30))));
        Assert.Null(policy.RetryAfter(null));
    }

    [Theory]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(429, true)]
    [InlineData(408, true)]
    [InlineData(501, false)]
    [InlineData(505, false)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(409, false)]
    [InlineData(416, false)]
    [InlineData(201, false)]
    public void OnlyServerErrorsTimeoutsAndThrottlingAreRetried(int status, bool retried) =>
        Assert.Equal(retried, RetryPolicy.IsRetryable((HttpStatusCode)status));

    [Fact]
    public void BrokenConnectionsAndTimeoutsAreRetriedButTlsFailuresAndCancellationAreNot()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.True(RetryPolicy.IsRetryable(new HttpRequestException("reset", new IOException("Connection reset by peer")), CancellationToken.None));
        Assert.True(RetryPolicy.IsRetryable(new IOException("broken pipe"), CancellationToken.None));
        Assert.True(RetryPolicy.IsRetryable(new TaskCanceledException("timed out"), CancellationToken.None));
        Assert.False(RetryPolicy.IsRetryable(new TaskCanceledException("cancelled"), cancelled.Token));
        Assert.False(RetryPolicy.IsRetryable(new HttpRequestException("tls", new AuthenticationException("The remote certificate is invalid")), CancellationToken.None));
        Assert.False(RetryPolicy.IsRetryable(new InvalidOperationException(), CancellationToken.None));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

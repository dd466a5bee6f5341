namespace Nixery.Build.Registry;

/// <summary>
/// The innermost handler of the chain: the watchdog of one try (NixImageRegistryTimeout). The try ends when the
/// registry goes <c>timeout</c> without progress: the deadline starts when the request goes out and every read
/// of its body (<see cref="RegistryRequest.Activity"/>) pushes it back. The whole answer is read within the deadline
/// too, so a registry that accepts a connection and never answers, or trickles its answer, cannot hold a build for
/// longer. A try that ends so fails with a <see cref="TimeoutException"/> ("no progress for … s"), which the retry
/// handler counts as a transient failure. Every request gets its own deadline: the token service's too.
/// </summary>
internal sealed class ProgressTimeoutHandler : DelegatingHandler
{
    private readonly TimeSpan _timeout;

    public ProgressTimeoutHandler(TimeSpan timeout, HttpMessageHandler inner)
        : base(inner)
    {
        _timeout = timeout;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        RegistryRequest.Of(request)?.Activity?.Watch(deadline, _timeout);
        HttpResponseMessage? response = null;
        try
        {
            response = await base.SendAsync(request, deadline.Token);
            await response.Content.LoadIntoBufferAsync(deadline.Token);
            return response;
        }
        catch (Exception e) when (RetryPolicy.IsRetryable(e, cancellationToken) && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            response?.Dispose();
            throw new TimeoutException($"no progress for {_timeout.TotalSeconds:0.#} s", e);
        }
        catch
        {
            response?.Dispose();
            throw;
        }
    }
}

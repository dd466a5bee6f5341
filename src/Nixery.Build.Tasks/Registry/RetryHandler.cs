using Nixery.Build.Diagnostics;

namespace Nixery.Build.Registry;

/// <summary>
/// The outermost handler of the chain: tries a request again, as <see cref="RetryPolicy"/> says, when it failed in a
/// way worth another try — a retryable status, a broken connection, a try the watchdog ended, a token service that
/// failed so (<see cref="RegistryTransientException"/> from below). Every try after the first sends a message built
/// afresh by its <see cref="RegistryRequest"/> (a body is opened again, never buffered); each wait is logged. After
/// <see cref="RetryPolicy.MaxAttempts"/> tries the failure is a coded error. A request that does not retry
/// (<see cref="RegistryRequest.Retry"/>: upload bodies) gets a <see cref="RegistryTransientException"/> at its first
/// such failure instead, so the uploader decides how to go on. Any other answer is returned for the caller to judge.
/// </summary>
internal sealed class RetryHandler : DelegatingHandler
{
    private readonly RegistryHost _registry;
    private readonly RegistryErrors _errors;
    private readonly IBuildLog _log;

    public RetryHandler(RegistryHost registry, RetryPolicy policy, RegistryErrors errors, IBuildLog log, HttpMessageHandler inner)
        : base(inner)
    {
        _registry = registry;
        Policy = policy;
        _errors = errors;
        _log = log;
    }

    public RetryPolicy Policy { get; }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var registryRequest = RegistryRequest.Of(request);
        var what = registryRequest?.What ?? $"{request.Method} {request.RequestUri?.AbsolutePath}";
        var failures = 0;
        while (true)
        {
            HttpResponseMessage? response = null;
            RegistryTransientException? transient = null;
            Exception? error = null;

            // The caller's message goes first; a message is sent only once, so every later try builds its own.
            var message = failures == 0 ? request : registryRequest?.CreateMessage() ?? throw new InvalidOperationException("Only a RegistryRequest can be tried again.");
            try
            {
                response = await base.SendAsync(message, cancellationToken);
            }
            catch (RegistryTransientException e)
            {
                transient = e;
            }
            catch (Exception e) when (RetryPolicy.IsRetryable(e, cancellationToken))
            {
                error = e;
            }
            finally
            {
                if (message != request)
                {
                    message.Dispose();
                }
            }

            if (response is not null && !RetryPolicy.IsRetryable(response.StatusCode))
            {
                return response;
            }

            failures++;
            transient ??= new RegistryTransientException(what, response?.StatusCode, response?.ReasonPhrase, response is null ? null : Policy.RetryAfter(response.Headers.RetryAfter), error);
            if (registryRequest is { Retry: false })
            {
                response?.Dispose();
                throw transient;
            }

            if (failures >= Policy.MaxAttempts)
            {
                using (response)
                {
                    throw response is null ? _errors.GiveUp(transient, failures) : await _errors.FailedAsync(response, what, failures);
                }
            }

            response?.Dispose();
            await WaitAsync(transient, failures, cancellationToken);
        }
    }

    /// <summary>Waits as the policy says after the <paramref name="failures"/>-th failed try, and says so in the log.</summary>
    public async Task WaitAsync(RegistryTransientException failure, int failures, CancellationToken cancellationToken)
    {
        var wait = Policy.DelayAfter(failures, failure.RetryAfter);
        _log.Info($"  {_registry}: '{failure.What}' failed ({failure.Message}), try {failures} of {Policy.MaxAttempts}; trying again in {wait.TotalSeconds:0.0} s");
        await Policy.Delay(wait, cancellationToken);
    }
}

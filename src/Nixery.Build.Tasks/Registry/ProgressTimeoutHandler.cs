using Nixery.Build.Streams;

namespace Nixery.Build.Registry;

/// <summary>
/// The innermost handler of the chain: the watchdog of one try (NixImageRegistryTimeout). The try ends when the
/// registry goes <c>timeout</c> without progress: the deadline starts when the request goes out and every read
/// of its body (<see cref="RegistryRequest.Activity"/>) pushes it back. The whole answer is read within the deadline
/// too, so a registry that accepts a connection and never answers, or trickles its answer, cannot hold a build for
/// longer. A try that ends so fails with a <see cref="TimeoutException"/> ("no progress for … s"), which the retry
/// handler counts as a transient failure. Every request gets its own deadline: the token service's too. A blob
/// download (<see cref="RegistryRequest.StreamAnswer"/>) is not read here: its body goes on as a stream where every
/// 64 KiB read pushes the deadline back, and whose stall (or trickle) fails the read the same way. An answer read
/// here is read whole, but never past <see cref="RegistryRequest.MaxAnswerSize"/>.
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
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var handedOn = false;
        deadline.CancelAfter(_timeout);
        var registryRequest = RegistryRequest.Of(request);
        registryRequest?.Activity?.Watch(deadline, _timeout);
        HttpResponseMessage? response = null;
        try
        {
            response = await base.SendAsync(request, deadline.Token);
            if (registryRequest?.StreamAnswer == true && response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStreamAsync(deadline.Token);
                var watched = new StreamContent(new WatchedStream(body, deadline, _timeout, cancellationToken));
                foreach (var header in response.Content.Headers.NonValidated)
                {
                    watched.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }

                response.Content = watched;
                handedOn = true;
                return response;
            }

            // A HEAD answer has no body: its Content-Length is the size of what a GET would send (a 50 MB blob).
            if (request.Method != HttpMethod.Head)
            {
                response.Content = await BoundedAsync(response.Content, registryRequest?.What ?? $"{request.Method} {request.RequestUri?.AbsolutePath}", deadline.Token);
            }

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
        finally
        {
            if (!handedOn)
            {
                deadline.Dispose();
            }
        }
    }

    /// <summary>
    /// The answer read whole into memory, but never more than <see cref="RegistryRequest.MaxAnswerSize"/> bytes: an
    /// endless or huge answer (a chunked manifest that never ends) fails at the limit instead of being buffered.
    /// </summary>
    private static async Task<HttpContent> BoundedAsync(HttpContent content, string what, CancellationToken cancellationToken)
    {
        const int Limit = RegistryRequest.MaxAnswerSize;
        if (content.Headers.ContentLength > Limit)
        {
            throw new RegistryAnswerTooLargeException(what, Limit);
        }

        using var buffer = new MemoryStream();
        await using (var body = await content.ReadAsStreamAsync(cancellationToken))
        {
            var chunk = new byte[1 << 16];
            int read;
            while ((read = await body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > Limit)
                {
                    throw new RegistryAnswerTooLargeException(what, Limit);
                }

                buffer.Write(chunk, 0, read);
            }
        }

        var bounded = new ByteArrayContent(buffer.ToArray());
        foreach (var header in content.Headers.NonValidated)
        {
            bounded.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        content.Dispose();
        return bounded;
    }

    /// <summary>
    /// An answer's body read under the try's deadline; the stream owns it. Progress is <see cref="MinProgress"/> bytes
    /// (or the body's end): only then is the deadline pushed back, so a registry trickling a few bytes a second fails
    /// the try at the deadline as one that sends nothing does. This makes <c>64 KiB per NixImageRegistryTimeout</c> the
    /// slowest rate a download may keep.
    /// </summary>
    private sealed class WatchedStream(Stream inner, CancellationTokenSource deadline, TimeSpan timeout, CancellationToken cancellationToken) : ReadOnlyStream
    {
        /// <summary>The bytes that count as progress.</summary>
        public const int MinProgress = 64 << 10;

        private long _sinceProgress;
        private long _read;

        public override long Length => throw new NotSupportedException();

        protected override long BytesRead => _read;

        /// <summary>Readers of an HTTP body read asynchronously; a synchronous one waits for the same read.</summary>
        public override int Read(Span<byte> buffer)
        {
            var copy = new byte[buffer.Length];
            var read = ReadAsync(copy.AsMemory()).AsTask().GetAwaiter().GetResult();
            copy.AsSpan(0, read).CopyTo(buffer);
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken readCancellation = default)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, readCancellation);
            try
            {
                var read = await inner.ReadAsync(buffer, linked.Token);
                _read += read;
                _sinceProgress += read;
                if (_sinceProgress >= MinProgress || read == 0)
                {
                    _sinceProgress = 0;
                    deadline.CancelAfter(timeout);
                }

                return read;
            }
            catch (Exception e) when (RetryPolicy.IsRetryable(e, cancellationToken) && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !readCancellation.IsCancellationRequested)
            {
                throw new TimeoutException($"no progress for {timeout.TotalSeconds:0.#} s", e);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken readCancellation) =>
            ReadAsync(buffer.AsMemory(offset, count), readCancellation).AsTask();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                deadline.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

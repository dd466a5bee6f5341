namespace Nixery.Build.Registry;

/// <summary>
/// The innermost handler of the chain: the watchdog of one try (NixImageRegistryTimeout). The try ends when the
/// registry goes <c>timeout</c> without progress: the deadline starts when the request goes out and every read
/// of its body (<see cref="RegistryRequest.Activity"/>) pushes it back. The whole answer is read within the deadline
/// too, so a registry that accepts a connection and never answers, or trickles its answer, cannot hold a build for
/// longer. A try that ends so fails with a <see cref="TimeoutException"/> ("no progress for … s"), which the retry
/// handler counts as a transient failure. Every request gets its own deadline: the token service's too. A blob
/// download (<see cref="RegistryRequest.StreamAnswer"/>) is not read here: its body goes on as a stream whose every
/// read pushes the deadline back, and whose stall fails the read the same way.
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
        finally
        {
            if (!handedOn)
            {
                deadline.Dispose();
            }
        }
    }

    /// <summary>An answer's body read under the try's deadline: each read that brings bytes pushes it back; the stream owns it.</summary>
    private sealed class WatchedStream(Stream inner, CancellationTokenSource deadline, TimeSpan timeout, CancellationToken cancellationToken) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken readCancellation = default)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, readCancellation);
            try
            {
                var read = await inner.ReadAsync(buffer, linked.Token);
                deadline.CancelAfter(timeout);
                return read;
            }
            catch (Exception e) when (RetryPolicy.IsRetryable(e, cancellationToken) && deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !readCancellation.IsCancellationRequested)
            {
                throw new TimeoutException($"no progress for {timeout.TotalSeconds:0.#} s", e);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken readCancellation) =>
            ReadAsync(buffer.AsMemory(offset, count), readCancellation).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

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

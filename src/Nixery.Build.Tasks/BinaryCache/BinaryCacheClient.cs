using System.Net;
using System.Text;
using Nixery.Build.Streams;

namespace Nixery.Build.BinaryCache;

/// <summary>Why a binary cache did not give a file: it does not have it, or it could not be asked.</summary>
public sealed class CacheFileMissingException(string message) : Exception(message);

/// <summary>A binary cache went <see cref="BinaryCacheClient.Timeout"/> without sending a byte of an answer it had begun.</summary>
public sealed class CacheStalledException(string message) : IOException(message);

/// <summary>
/// Reads files of Nix binary caches (<c>&lt;hash&gt;.narinfo</c>, <c>nar/…</c>): over HTTP(S), or from a folder
/// (<c>file://</c>). Only files under the cache are read (<see cref="CacheLocation"/>), and no wait is longer than
/// <see cref="Timeout"/> without progress: not for the answer's headers, nor for any read of its body. Answers are
/// streamed; nothing here checks what they hold.
/// </summary>
public sealed class BinaryCacheClient : IDisposable
{
    /// <summary>The largest narinfo read: real ones are under 2 KiB.</summary>
    public const int MaxNarInfoSize = 64 * 1024;

    /// <summary>How many times a request that got no answer at all is made before the cache counts as unreachable.</summary>
    public const int Attempts = 3;

    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(200);

    private readonly HttpClient _http;
    private long _received;

    /// <param name="timeout">How long a cache may go without progress (NixImageRegistryTimeout).</param>
    /// <param name="handler">The HTTP handler (tests pass their own); null for the system's, with its TLS trust.</param>
    public BinaryCacheClient(TimeSpan timeout, HttpMessageHandler? handler = null)
    {
        _http = handler is null
            ? new HttpClient(new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None, ConnectTimeout = timeout })
            : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("Nixery.Build");
        Timeout = timeout;
    }

    /// <summary>How long a cache may take to start answering, or go without sending a byte of its answer.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The bytes read from every cache so far: what a progress line watches.</summary>
    public long BytesReceived => Interlocked.Read(ref _received);

    /// <summary>A binary cache's address from a setting: <c>https://…</c>, <c>http://…</c> or <c>file:///…</c>; null when it is none of those.</summary>
    public static Uri? ParseCache(string text)
    {
        var trimmed = text.Trim().TrimEnd('/');
        return trimmed.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(trimmed, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" or "file" ? uri : null;
    }

    /// <summary>
    /// The cache's file at <paramref name="relative"/> as a stream; <see cref="CacheFileMissingException"/> when it
    /// has none or cannot be asked, <see cref="CacheFileRefusedException"/> when the name leaves the cache or is not a
    /// regular file. A read of the stream that waits longer than <see cref="Timeout"/> throws <see cref="CacheStalledException"/>.
    /// </summary>
    public async Task<Stream> OpenAsync(Uri cache, string relative, CancellationToken cancellationToken)
    {
        if (cache.IsFile)
        {
            var path = CacheLocation.File(cache.LocalPath, relative);
            try
            {
                return new CountedStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan), this);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new CacheFileMissingException("it has no " + CacheLocation.Shown(relative));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CacheFileMissingException($"{CacheLocation.Shown(relative)} cannot be read ({e.Message})");
            }
        }

        var address = CacheLocation.Address(cache, relative);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await GetAsync(address, relative, cancellationToken);
            }
            catch (HttpRequestException e) when (e.StatusCode is null && attempt < Attempts)
            {
                // No answer at all (a connection refused or reset before the response): as Nix's own download-attempts,
                // ask again after a short pause; an answer, however bad, is never asked again.
                await Task.Delay(RetryPause * attempt, cancellationToken);
            }
            catch (HttpRequestException e)
            {
                throw new CacheFileMissingException($"it could not be reached{(attempt > 1 ? $" in {attempt} attempts" : string.Empty)} ({e.Message})");
            }
        }
    }

    private async Task<Stream> GetAsync(Uri address, string relative, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        HttpResponseMessage? response = null;
        try
        {
            response = await _http.GetAsync(address, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.Gone)
            {
                throw new CacheFileMissingException("it has no " + CacheLocation.Shown(relative));
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new CacheFileMissingException($"it answered {(int)response.StatusCode} {response.ReasonPhrase} for {CacheLocation.Shown(relative)}");
            }

            var body = await response.Content.ReadAsStreamAsync(timeout.Token);
            var stream = new ResponseStream(response, body, this, cancellationToken);
            response = null;
            return stream;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CacheFileMissingException($"it did not answer within {Timeout.TotalSeconds:0} s (NixImageRegistryTimeout)");
        }
        finally
        {
            response?.Dispose();
        }
    }

    /// <summary>
    /// A narinfo's text, read whole but no further than <see cref="MaxNarInfoSize"/> bytes; a larger one is a
    /// <see cref="FormatException"/>.
    /// </summary>
    public static async Task<string> ReadNarInfoAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxNarInfoSize + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }

        if (length > MaxNarInfoSize)
        {
            throw new FormatException($"it is larger than {MaxNarInfoSize / 1024} KiB");
        }

        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    public void Dispose() => _http.Dispose();

    private void Count(int read) => Interlocked.Add(ref _received, read);

    /// <summary>A folder cache's file, its reads counted.</summary>
    private sealed class CountedStream(FileStream file, BinaryCacheClient client) : ReadOnlyStream
    {
        private long _read;

        public override long Length => throw new NotSupportedException();

        protected override long BytesRead => _read;

        public override int Read(Span<byte> buffer)
        {
            var read = file.Read(buffer);
            _read += read;
            client.Count(read);
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                file.Dispose();
            }

            base.Dispose(disposing);
        }
    }

    /// <summary>
    /// The body of an answer, which disposes the answer with it. Each read must bring a byte within the client's
    /// timeout, else it throws <see cref="CacheStalledException"/>: the time counted is time without progress, and
    /// time the reader spends elsewhere (writing to a slow disk) does not count.
    /// </summary>
    private sealed class ResponseStream(HttpResponseMessage response, Stream body, BinaryCacheClient client, CancellationToken cancellationToken) : ReadOnlyStream
    {
        private long _read;

        public override long Length => throw new NotSupportedException();

        protected override long BytesRead => _read;

        // Synchronous reads (the decompressors') wait the same way: a blocked socket read is not cancellable otherwise.
        public override int Read(Span<byte> buffer)
        {
            var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length);
            try
            {
                var read = ReadAsync(rented.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
                rented.AsSpan(0, read).CopyTo(buffer);
                return read;
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken readCancellation = default)
        {
            using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, readCancellation);
            watchdog.CancelAfter(client.Timeout);
            int read;
            try
            {
                read = await body.ReadAsync(buffer, watchdog.Token);
            }
            catch (Exception e) when (watchdog.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !readCancellation.IsCancellationRequested)
            {
                throw new CacheStalledException($"it sent nothing for {client.Timeout.TotalSeconds:0} s (NixImageRegistryTimeout) after {_read} bytes of the answer ({e.GetType().Name})");
            }

            _read += read;
            client.Count(read);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken readCancellation) =>
            ReadAsync(buffer.AsMemory(offset, count), readCancellation).AsTask();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                body.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

using System.Net;
using Nixery.Build.Archive;

namespace Nixery.Build.BinaryCache;

/// <summary>Why a binary cache did not give a file: it does not have it, or it could not be asked.</summary>
public sealed class CacheFileMissingException(string message) : Exception(message);

/// <summary>
/// Reads files of Nix binary caches (<c>&lt;hash&gt;.narinfo</c>, <c>nar/…</c>): over HTTP(S), or from a folder
/// (<c>file://</c>). Answers are streamed; nothing here checks what they hold.
/// </summary>
public sealed class BinaryCacheClient : IDisposable
{
    private readonly HttpClient _http;

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

    /// <summary>How long a cache may take to start answering.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>A binary cache's address from a setting: <c>https://…</c>, <c>http://…</c> or <c>file:///…</c>; null when it is none of those.</summary>
    public static Uri? ParseCache(string text)
    {
        var trimmed = text.Trim().TrimEnd('/');
        return trimmed.Contains("://", StringComparison.Ordinal) && Uri.TryCreate(trimmed, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" or "file" ? uri : null;
    }

    /// <summary>The cache's file at <paramref name="relative"/> as a stream; <see cref="CacheFileMissingException"/> when it has none or cannot be asked.</summary>
    public async Task<Stream> OpenAsync(Uri cache, string relative, CancellationToken cancellationToken)
    {
        if (cache.IsFile)
        {
            var path = Path.Combine(cache.LocalPath, relative);
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                throw new CacheFileMissingException("it has no " + relative);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CacheFileMissingException($"{relative} cannot be read ({e.Message})");
            }
        }

        var address = new Uri(cache.AbsoluteUri.TrimEnd('/') + "/" + relative);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.GetAsync(address, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        }
        catch (HttpRequestException e)
        {
            throw new CacheFileMissingException($"it could not be reached ({e.Message})");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new CacheFileMissingException($"it did not answer within {Timeout.TotalSeconds:0} s");
        }

        if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Forbidden or HttpStatusCode.Gone)
        {
            response.Dispose();
            throw new CacheFileMissingException("it has no " + relative);
        }

        if (!response.IsSuccessStatusCode)
        {
            response.Dispose();
            throw new CacheFileMissingException($"it answered {(int)response.StatusCode} {response.ReasonPhrase} for {relative}");
        }

        return new ResponseStream(response, await response.Content.ReadAsStreamAsync(cancellationToken));
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The body of an answer, which disposes the answer with it.</summary>
    private sealed class ResponseStream(HttpResponseMessage response, Stream body) : ReadOnlyStream
    {
        private long _read;

        public override long Length => throw new NotSupportedException();

        protected override long BytesRead => _read;

        public override int Read(Span<byte> buffer)
        {
            var read = body.Read(buffer);
            _read += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await body.ReadAsync(buffer, cancellationToken);
            _read += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

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

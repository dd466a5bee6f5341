using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>
/// A registry on 127.0.0.1 that serves crafted base images, and answers as each test row tells it to: bodies longer
/// than declared, endless manifests, trickles, stalls, redirects out of HTTP, endless tokens. Every base it serves
/// is linux/amd64 under its own repository with the tag <c>1</c>; it counts the requests and the bytes it sent.
/// </summary>
public sealed class HostileRegistry : LoopbackHttpServer
{
    private readonly ConcurrentDictionary<string, Func<HttpListenerContext, Task>> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);
    private long _sent;

    public HostileRegistry()
    {
        _routes["/v2/"] = context => Answer(context, HttpStatusCode.OK, "{}"u8.ToArray());
        _routes["/token"] = async context =>
        {
            // A token service that never stops answering.
            context.Response.SendChunked = true;
            await Endless(context, "{\"token\":\""u8.ToArray());
        };
        Start();
    }

    public string Name => $"127.0.0.1:{Port}";

    /// <summary>Bytes sent in answers so far.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>How often the blobs of <paramref name="repository"/> were asked for (any method): a retried download shows here.</summary>
    public int BlobRequests(string repository) => _requests.Where(r => r.Key.StartsWith($"/v2/{repository}/blobs/", StringComparison.Ordinal)).Sum(r => r.Value);

    /// <summary>A gzip-compressed layer tar of regular files (path → content) and folders (path ending in '/').</summary>
    public static byte[] Layer(params (string Path, byte[]? Content)[] entries)
    {
        using var tar = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(tar, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (path, content) in entries)
            {
                var entry = new System.Formats.Tar.PaxTarEntry(content is null ? System.Formats.Tar.TarEntryType.Directory : System.Formats.Tar.TarEntryType.RegularFile, path)
                {
                    Mode = (UnixFileMode)(content is null ? 0b111_101_101 : 0b110_100_100),
                };
                if (content is not null)
                {
                    entry.DataStream = new MemoryStream(content);
                }

                writer.WriteEntry(entry);
            }
        }

        return tar.ToArray();
    }

    /// <summary>A plain base for <paramref name="repository"/>: /etc/passwd, /etc/group, /tmp and a file naming it (so its layer is its own).</summary>
    public static byte[] PlainLayer(string repository, string passwd = "root:x:0:0:root:/root:/bin/sh\n") => Layer(
        ("etc/", null),
        ("etc/passwd", Encoding.ASCII.GetBytes(passwd)),
        ("etc/group", "root:x:0:\n"u8.ToArray()),
        ("tmp/", null),
        ("etc/hostile-" + repository.Replace('/', '-'), Encoding.ASCII.GetBytes(repository)));

    /// <summary>
    /// Serves a base made of <paramref name="tars"/> (uncompressed, bottom first; gzip-compressed here) under
    /// <c>repository:1</c>. The config and manifest JSON may be changed by the row before they are served; a blob's
    /// answer may be replaced (by its index: -1 the config, 0.. the layers).
    /// </summary>
    public void Serve(
        string repository,
        IReadOnlyList<byte[]> tars,
        Func<string, string>? config = null,
        Func<string, string>? manifest = null,
        Func<int, string, Func<HttpListenerContext, Task>?>? blob = null,
        Func<HttpListenerContext, Task>? manifestAnswer = null)
    {
        var layers = tars.Select(Gzip).ToList();
        var diffIds = tars.Select(Digest).ToList();
        var configJson = """{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/bin"]},"rootfs":{"type":"layers","diff_ids":[""" + string.Join(',', diffIds.Select(d => $"\"{d}\"")) + "]}}";
        var configBytes = Encoding.UTF8.GetBytes(config?.Invoke(configJson) ?? configJson);
        var manifestJson = """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"""
            + $"\"{Digest(configBytes)}\",\"size\":{configBytes.Length}}},\"layers\":["
            + string.Join(',', layers.Select(l => $"{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{Digest(l)}\",\"size\":{l.Length}}}"))
            + "]}";
        var manifestBytes = Encoding.UTF8.GetBytes(manifest?.Invoke(manifestJson) ?? manifestJson);
        _routes[$"/v2/{repository}/manifests/1"] = manifestAnswer ?? (context =>
        {
            context.Response.ContentType = "application/vnd.oci.image.manifest.v1+json";
            context.Response.Headers["Docker-Content-Digest"] = Digest(manifestBytes);
            return Answer(context, HttpStatusCode.OK, manifestBytes);
        });
        var blobs = layers.Select((bytes, i) => (Index: i, Bytes: bytes)).Prepend((Index: -1, Bytes: configBytes));
        foreach (var (index, bytes) in blobs)
        {
            var path = $"/v2/{repository}/blobs/{Digest(bytes)}";
            _routes[path] = blob?.Invoke(index, path) ?? (context => Answer(context, HttpStatusCode.OK, bytes));
        }
    }

    /// <summary>A path answered by <paramref name="answer"/> (a route of a row's own).</summary>
    public void Route(string path, Func<HttpListenerContext, Task> answer) => _routes[path] = answer;

    /// <summary>Sends <paramref name="prefix"/>, then filler for as long as the client reads.</summary>
    public async Task Endless(HttpListenerContext context, byte[] prefix)
    {
        var output = context.Response.OutputStream;
        await output.WriteAsync(prefix);
        var filler = new byte[1 << 16];
        Array.Fill(filler, (byte)'a');
        while (true)
        {
            await output.WriteAsync(filler);
            Interlocked.Add(ref _sent, filler.Length);
        }
    }

    /// <summary>Sends <paramref name="body"/> one byte a second (declaring its whole length).</summary>
    public async Task Trickle(HttpListenerContext context, byte[] body)
    {
        context.Response.ContentLength64 = body.Length;
        foreach (var b in body)
        {
            await context.Response.OutputStream.WriteAsync(new[] { b });
            await context.Response.OutputStream.FlushAsync();
            Interlocked.Increment(ref _sent);
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    public static string Digest(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    public static byte[] Gzip(byte[] tar)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(tar);
        }

        return buffer.ToArray();
    }

    public async Task Answer(HttpListenerContext context, HttpStatusCode status, byte[] body)
    {
        context.Response.StatusCode = (int)status;
        context.Response.ContentLength64 = body.Length;
        if (context.Request.HttpMethod != "HEAD")
        {
            await context.Response.OutputStream.WriteAsync(body);
            Interlocked.Add(ref _sent, body.Length);
        }

        context.Response.Close();
    }

    protected override async Task AnswerAsync(HttpListenerContext context)
    {
        var path = context.Request.Url!.AbsolutePath;
        _requests.AddOrUpdate(path, 1, (_, n) => n + 1);
        if (_routes.TryGetValue(path, out var route))
        {
            await route(context);
            return;
        }

        await Answer(context, HttpStatusCode.NotFound, """{"errors":[{"code":"NAME_UNKNOWN","message":"not here"}]}"""u8.ToArray());
    }
}

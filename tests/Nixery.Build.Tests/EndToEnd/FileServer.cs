using System.Collections.Concurrent;
using System.Net;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>Serves a folder's files over HTTP on 127.0.0.1 (GET only; 404 for what is not there), as a binary cache's web server does.</summary>
public sealed class FileServer : LoopbackHttpServer
{
    private readonly string _root;
    private readonly ConcurrentQueue<string> _requests = new();

    public FileServer(string root)
    {
        _root = root;
        Start();
    }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The paths asked for, in order.</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    protected override async Task AnswerAsync(HttpListenerContext context)
    {
        var relative = Uri.UnescapeDataString(context.Request.Url!.AbsolutePath).TrimStart('/');
        _requests.Enqueue(relative);
        var path = Path.GetFullPath(Path.Combine(_root, relative));
        try
        {
            if (!path.StartsWith(_root + "/", StringComparison.Ordinal) || !File.Exists(path))
            {
                context.Response.StatusCode = 404;
                return;
            }

            await using var file = File.OpenRead(path);
            context.Response.ContentLength64 = file.Length;
            await file.CopyToAsync(context.Response.OutputStream);
        }
        finally
        {
            context.Response.Close();
        }
    }
}

using System.Collections.Concurrent;
using System.Net;
using Nixery.Build.Tests.EndToEnd.Registry;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>Serves a folder's files over HTTP on 127.0.0.1 (GET only; 404 for what is not there), as a binary cache's web server does.</summary>
public sealed class FileServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly string _root;
    private readonly Task _loop;
    private readonly ConcurrentQueue<string> _requests = new();

    public FileServer(string root)
    {
        _root = root;
        Port = FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The paths asked for, in order.</summary>
    public IReadOnlyList<string> Requests => [.. _requests];

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => Answer(context));
        }
    }

    private async Task Answer(HttpListenerContext context)
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
        catch (Exception e) when (e is HttpListenerException or IOException)
        {
        }
        finally
        {
            context.Response.Close();
        }
    }
}

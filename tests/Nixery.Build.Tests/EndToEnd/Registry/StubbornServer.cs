using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>A "registry" on 127.0.0.1 that accepts connections and does with each what it is told, until disposed.</summary>
public sealed class StubbornServer : IDisposable
{
    /// <summary>Takes the connection and never says a word.</summary>
    public static StubbornServer Silent() => new((_, token) => Task.Delay(Timeout.Infinite, token));

    /// <summary>Reads the request, then answers 200 one byte a second.</summary>
    public static StubbornServer Trickling() => new(async (stream, token) =>
    {
        var answer = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
        _ = await stream.ReadAsync(new byte[4096], token);
        foreach (var b in answer)
        {
            await stream.WriteAsync(new[] { b }, token);
            await Task.Delay(1000, token);
        }
    });

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpClient> _clients = [];

    public StubbornServer(Func<NetworkStream, CancellationToken, Task> serve)
    {
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try
                {
                    client = await _listener.AcceptTcpClientAsync(_stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                lock (_clients)
                {
                    _clients.Add(client);
                }

                _ = Task.Run(async () =>
                {
                    try
                    {
                        await serve(client.GetStream(), _stop.Token);
                    }
                    catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
                    {
                    }
                });
            }
        });
    }

    public string Name => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_clients)
        {
            _clients.ForEach(c => c.Dispose());
        }
    }
}

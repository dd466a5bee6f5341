using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>What the proxy does to a request a rule picked.</summary>
public enum Fault
{
    /// <summary>Close the connection at once with a reset, before reading anything more: no answer.</summary>
    Refuse,

    /// <summary>Read <see cref="FaultRule.AfterBytes"/> of the body, then reset; nothing reaches the registry.</summary>
    ResetBeforeForwarding,

    /// <summary>Forward the head and <see cref="FaultRule.AfterBytes"/> of the body to the registry, then reset both sides.</summary>
    ResetWhileForwarding,

    /// <summary>Wait <see cref="FaultRule.Delay"/>, then forward as usual.</summary>
    Delay,

    /// <summary>Read the request and answer <see cref="FaultRule.Status"/> (with Retry-After: 1) without forwarding.</summary>
    Status,
}

/// <summary>
/// Picks requests by method and a part of the path; skips the first <see cref="Skip"/> matches, then applies the
/// fault to the next <see cref="Times"/> (int.MaxValue: for ever).
/// </summary>
public sealed record FaultRule(string Method, string PathContains, Fault Fault)
{
    public int Skip { get; init; }

    public int Times { get; init; } = 1;

    public long AfterBytes { get; init; }

    public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(2);

    public int Status { get; init; } = 503;

    internal int Seen;
}

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of a registry that refuses, resets, delays or answers 503 for chosen
/// requests. It speaks just enough HTTP/1.1: reads a request head, forwards it with <c>Connection: close</c> (one
/// request per connection, so the registry's closing ends the answer), then the body by its Content-Length, then
/// the registry's answer. A connection that does not start like an HTTP request (a TLS hello) is closed at once.
/// </summary>
public sealed class FaultProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _upstreamPort;
    private readonly List<FaultRule> _rules = [];
    private readonly ConcurrentQueue<string> _applied = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public FaultProxy(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _loop = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    public string Name => $"127.0.0.1:{Port}";

    /// <summary>Faults applied so far: "<c>FAULT METHOD PATH</c>".</summary>
    public IReadOnlyList<string> Applied => [.. _applied];

    public void Add(FaultRule rule)
    {
        lock (_rules)
        {
            _rules.Add(rule);
        }
    }

    /// <summary>Forgets every rule and what was applied.</summary>
    public void Clear()
    {
        lock (_rules)
        {
            _rules.Clear();
            _applied.Clear();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
            // Stopped.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(client));
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = await ReadHeadAsync(stream);
                if (head is null)
                {
                    Reset(client);
                    return;
                }

                var (method, path, length, rewritten, leftover) = head.Value;
                var rule = Pick(method, path);
                if (rule is not null)
                {
                    _applied.Enqueue($"{rule.Fault} {method} {path}");
                }

                switch (rule?.Fault)
                {
                    case Fault.Refuse:
                        Reset(client);
                        return;
                    case Fault.ResetBeforeForwarding:
                        await DrainAsync(stream, leftover, Math.Min(rule.AfterBytes, length));
                        Reset(client);
                        return;
                    case Fault.Status:
                        await DrainAsync(stream, leftover, length);
                        var reason = rule.Status == 503 ? "Service Unavailable" : rule.Status == 429 ? "Too Many Requests" : "Error";
                        var answer = $"HTTP/1.1 {rule.Status.ToString(CultureInfo.InvariantCulture)} {reason}\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                        await stream.WriteAsync(Encoding.ASCII.GetBytes(answer));
                        return;
                    case Fault.Delay:
                        await Task.Delay(rule.Delay);
                        break;
                }

                using var upstream = new TcpClient();
                await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort);
                var upstreamStream = upstream.GetStream();
                await upstreamStream.WriteAsync(rewritten);
                if (rule?.Fault == Fault.ResetWhileForwarding)
                {
                    await CopyAsync(stream, upstreamStream, leftover, Math.Min(rule.AfterBytes, length));
                    await Task.Delay(200);
                    Reset(upstream);
                    Reset(client);
                    return;
                }

                await CopyAsync(stream, upstreamStream, leftover, length);
                await upstreamStream.CopyToAsync(stream);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                // A side went away: so does the other.
            }
        }
    }

    private FaultRule? Pick(string method, string path)
    {
        lock (_rules)
        {
            foreach (var rule in _rules)
            {
                if (rule.Method != method || !path.Contains(rule.PathContains, StringComparison.Ordinal))
                {
                    continue;
                }

                var index = rule.Seen++;
                if (index >= rule.Skip && index - rule.Skip < rule.Times)
                {
                    return rule;
                }
            }
        }

        return null;
    }

    /// <summary>Reads up to the blank line; returns the method, path, Content-Length, the head rewritten with Connection: close, and body bytes read past the head.</summary>
    private static async Task<(string Method, string Path, long Length, byte[] Head, byte[] Leftover)?> ReadHeadAsync(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var chunk = new byte[4096];
        while (true)
        {
            var read = await stream.ReadAsync(chunk);
            if (read == 0)
            {
                return null;
            }

            buffer.AddRange(chunk.AsSpan(0, read));
            if (!char.IsAsciiLetterUpper((char)buffer[0]))
            {
                return null;
            }

            var text = Encoding.Latin1.GetString([.. buffer]);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                if (buffer.Count > 64 * 1024)
                {
                    return null;
                }

                continue;
            }

            var lines = text[..end].Split("\r\n");
            var requestLine = lines[0].Split(' ');
            long length = 0;
            var kept = new List<string> { lines[0] };
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var name = colon > 0 ? line[..colon].Trim() : line;
                if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    length = long.Parse(line[(colon + 1)..].Trim(), CultureInfo.InvariantCulture);
                }

                if (!name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && !name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
                {
                    kept.Add(line);
                }
            }

            kept.Add("Connection: close");
            var head = Encoding.Latin1.GetBytes(string.Join("\r\n", kept) + "\r\n\r\n");
            var leftover = buffer.Skip(Encoding.Latin1.GetByteCount(text[..(end + 4)])).ToArray();
            return (requestLine[0], requestLine.Length > 1 ? requestLine[1] : "/", length, head, leftover);
        }
    }

    private static async Task CopyAsync(NetworkStream from, NetworkStream to, byte[] leftover, long count)
    {
        var first = (int)Math.Min(leftover.Length, count);
        await to.WriteAsync(leftover.AsMemory(0, first));
        count -= first;
        var buffer = new byte[65536];
        while (count > 0)
        {
            var read = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)));
            if (read == 0)
            {
                return;
            }

            await to.WriteAsync(buffer.AsMemory(0, read));
            count -= read;
        }
    }

    private static async Task DrainAsync(NetworkStream from, byte[] leftover, long count)
    {
        count -= Math.Min(leftover.Length, count);
        var buffer = new byte[65536];
        while (count > 0)
        {
            var read = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)));
            if (read == 0)
            {
                return;
            }

            count -= read;
        }
    }

    private static void Reset(TcpClient client)
    {
        try
        {
            client.Client.LingerState = new LingerOption(true, 0);
            client.Client.Close();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
    }
}

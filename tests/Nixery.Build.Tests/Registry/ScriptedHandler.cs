using System.Collections.Concurrent;
using System.Net;

namespace Nixery.Build.Tests.Registry;

/// <summary>A request as a <see cref="ScriptedHandler"/> saw it.</summary>
public sealed record SeenRequest(HttpMethod Method, Uri Uri, string? Authorization, string? Body);

/// <summary>An HTTP stack that answers from a script, for unit tests of the client's decisions (retries, challenges).</summary>
public sealed class ScriptedHandler(Func<HttpRequestMessage, int, HttpResponseMessage> answer) : HttpMessageHandler
{
    private readonly ConcurrentQueue<SeenRequest> _seen = new();
    private int _count;

    public IReadOnlyList<SeenRequest> Seen => [.. _seen];

    public static HttpResponseMessage Status(HttpStatusCode status, string? body = null)
    {
        var response = new HttpResponseMessage(status);
        if (body is not null)
        {
            response.Content = new StringContent(body);
        }

        return response;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        _seen.Enqueue(new SeenRequest(request.Method, request.RequestUri!, request.Headers.Authorization?.ToString(), body));
        var response = answer(request, Interlocked.Increment(ref _count) - 1);
        response.RequestMessage = request;
        return response;
    }
}

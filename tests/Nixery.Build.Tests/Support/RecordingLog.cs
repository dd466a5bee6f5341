using System.Collections.Concurrent;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Tests.Support;

/// <summary>An <see cref="IBuildLog"/> that keeps every line, for assertions.</summary>
public sealed class RecordingLog : IBuildLog
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public ConcurrentQueue<(string Code, string Message)> Warnings { get; } = new();

    public void Info(string message) => Lines.Enqueue(message);

    public void Detail(string message) => Lines.Enqueue(message);

    public void Warning(string code, string message) => Warnings.Enqueue((code, message));
}

using System.Text;

namespace Nixery.Build.Processes;

/// <summary>The outcome of a finished process: its exit code, all of stdout, and the last lines of stderr.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, IReadOnlyList<string> StandardErrorTail);

/// <summary>
/// Runs a command without a shell, with every signal at its default action (<see cref="SpawnedProcess"/>).
/// Stdout and stderr are read concurrently (a full pipe never stalls the child); each stderr line goes to
/// <c>onStandardError</c> as it arrives, and the last lines are kept for error messages. Cancelling asks the
/// process and everything it started to stop (SIGTERM), and kills them when it has not within a few seconds.
/// The one place the engine starts processes: Nix's tools (<c>Nix/</c>) and Docker credential helpers
/// (<c>Registry/CredentialHelper</c>).
/// </summary>
public static class ProcessRunner
{
    private const int TailLines = 40;
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    /// <param name="fileName">The program's full path.</param>
    /// <param name="standardInput">Written (UTF-8) to the process's standard input, which is then closed; null: standard input is <c>/dev/null</c>.</param>
    public static Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        Action<string> onStandardError,
        CancellationToken cancellationToken,
        string? standardInput = null) =>
        RunAsync(fileName, arguments, onStandardError, standardInput is null ? null : (input, token) => input.WriteAsync(Encoding.UTF8.GetBytes(standardInput), token).AsTask(), cancellationToken);

    /// <param name="writeInput">Streams the process's standard input (closed after it returns); null: standard input is <c>/dev/null</c>.</param>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        Action<string> onStandardError,
        Func<Stream, CancellationToken, Task>? writeInput,
        CancellationToken cancellationToken)
    {
        using var process = SpawnedProcess.Start(fileName, arguments.ToList(), pipeInput: writeInput is not null);
        var stdin = process.StandardInput is { } input ? FeedAsync(input, writeInput!, cancellationToken) : Task.CompletedTask;
        var tail = new Queue<string>(TailLines);
        using var stdoutReader = new StreamReader(process.StandardOutput, Encoding.UTF8);
        using var stderrReader = new StreamReader(process.StandardError, Encoding.UTF8);
        var stdout = stdoutReader.ReadToEndAsync(CancellationToken.None);
        var stderr = Task.Run(
            async () =>
            {
                while (await stderrReader.ReadLineAsync(CancellationToken.None) is { } line)
                {
                    lock (tail)
                    {
                        if (tail.Count == TailLines)
                        {
                            tail.Dequeue();
                        }

                        tail.Enqueue(line);
                    }

                    onStandardError(line);
                }
            },
            CancellationToken.None);

        var cancelled = Task.Delay(Timeout.Infinite, cancellationToken);
        if (await Task.WhenAny(process.Exited, cancelled) != process.Exited)
        {
            await process.StopAsync(StopGrace);
            // A descendant that left the group may still hold the pipes: do not wait for it.
            await Task.WhenAny(Task.WhenAll(stdout, stderr), Task.Delay(StopGrace, CancellationToken.None));
            cancellationToken.ThrowIfCancellationRequested();
        }

        var exitCode = await process.Exited;
        var output = await stdout;
        await stderr;
        await stdin;
        lock (tail)
        {
            return new ProcessResult(exitCode, output, tail.ToList());
        }
    }

    /// <summary>Writes the input and closes the pipe. A child that exits without reading it all is not an error.</summary>
    private static Task FeedAsync(Stream input, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken) => Task.Run(
        async () =>
        {
            try
            {
                await write(input, cancellationToken);
            }
            catch (IOException)
            {
                // The child closed its end (exited, or read no more): what it did with its input shows in its result.
            }
            finally
            {
                try
                {
                    input.Dispose();
                }
                catch (IOException)
                {
                    // The same broken pipe, seen while flushing.
                }
            }
        },
        CancellationToken.None);

    /// <summary>The full path of <paramref name="command"/> on PATH, or null.</summary>
    public static string? FindOnPath(string command, string? pathVariable)
    {
        foreach (var directory in (pathVariable ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, command);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

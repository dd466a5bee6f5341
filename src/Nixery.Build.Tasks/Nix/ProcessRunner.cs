using System.Diagnostics;
using System.Text;

namespace Nixery.Build.Nix;

/// <summary>The outcome of a finished process: its exit code, all of stdout, and the last lines of stderr.</summary>
public sealed record ProcessResult(int ExitCode, string StandardOutput, IReadOnlyList<string> StandardErrorTail);

/// <summary>
/// Runs a command without a shell. Stdout and stderr are read concurrently (a full pipe never
/// stalls the child); each stderr line goes to <c>onStandardError</c> as it arrives, and the last
/// lines are kept for error messages. Cancelling kills the whole process tree.
/// </summary>
public static class ProcessRunner
{
    private const int TailLines = 40;

    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        Action<string> onStandardError,
        CancellationToken cancellationToken,
        string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (workingDirectory is not null)
        {
            start.WorkingDirectory = workingDirectory;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = start };
        process.Start();
        process.StandardInput.Close();

        var tail = new Queue<string>(TailLines);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = Task.Run(
            async () =>
            {
                while (await process.StandardError.ReadLineAsync(cancellationToken) is { } line)
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
            cancellationToken);

        try
        {
            await process.WaitForExitAsync(cancellationToken);
            var output = await stdout;
            await stderr;
            lock (tail)
            {
                return new ProcessResult(process.ExitCode, output, tail.ToList());
            }
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // Already gone.
            }

            throw;
        }
    }

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

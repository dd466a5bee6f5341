using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Tasks;

/// <summary>
/// The shape every task of the package shares, and the one place failures become errors: MSBuild's cancel (Ctrl+C)
/// cancels the token <see cref="Run"/> is given; a coded <see cref="NixImageException"/> becomes an MSBuild error with
/// its code; a file-system failure (a folder that is a file, no permission, a full disk; possibly inside an
/// <see cref="AggregateException"/> from parallel work) becomes NIXIMG012 with the system's message, which names the
/// path; anything else is NIXIMG099. Never a stack trace (it goes to the detailed log for a bug report).
/// </summary>
public abstract class CancelableNixTask : Microsoft.Build.Utilities.Task, ICancelableTask
{
    // Tasks are never disposed; the source lives for one Execute and cancelling after that is harmless.
    private volatile CancellationTokenSource? _cancel;

    /// <summary>What the log says when the work was cancelled (what was left as it was).</summary>
    protected abstract string CancelledMessage { get; }

    public void Cancel()
    {
        try
        {
            _cancel?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Execute has finished.
        }
    }

    public sealed override bool Execute()
    {
        using var cancel = new CancellationTokenSource();
        _cancel = cancel;
        try
        {
            Run(cancel.Token);
        }
        catch (NixImageException e)
        {
            Log.LogNixImageError(e);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            Log.LogMessage(MessageImportance.High, CancelledMessage);
            return false;
        }
        catch (Exception e) when (FileSystemFailure(e) is { } failure)
        {
            Log.LogNixImageError(new NixImageException(
                ErrorCodes.WriteFailed,
                $"A file of the image build could not be written or read: {failure.Message} "
                + "Check that the path is a folder where one is expected (not a file), that it is writable, and that its disk has free space; then build again."));
            Log.LogMessage(MessageImportance.Low, failure.ToString());
        }
        catch (Exception e) when (e is not (NixImageException or OperationCanceledException))
        {
            var inner = e is AggregateException aggregate ? aggregate.Flatten().InnerExceptions[0] : e;
            Log.LogNixImageError(new NixImageException(
                ErrorCodes.InternalError,
                $"Nixery.Build failed unexpectedly ({inner.GetType().Name}: {inner.Message}). This is a bug: please report it with the output of the build at -v:detailed, which holds where it happened."));
            Log.LogMessage(MessageImportance.Low, e.ToString());
        }
        finally
        {
            _cancel = null;
        }

        return !Log.HasLoggedErrors;
    }

    protected abstract void Run(CancellationToken cancellationToken);

    /// <summary>The I/O or access failure behind <paramref name="e"/> (also inside an AggregateException), or null.</summary>
    private static Exception? FileSystemFailure(Exception e) => e switch
    {
        IOException or UnauthorizedAccessException => e,
        AggregateException aggregate => aggregate.Flatten().InnerExceptions.FirstOrDefault(i => i is IOException or UnauthorizedAccessException),
        _ => null,
    };
}

internal static class TaskLoggingExtensions
{
    /// <summary>A coded error: <c>error NIXIMG###: message</c>, no file, no stack trace.</summary>
    public static void LogNixImageError(this TaskLoggingHelper log, NixImageException e) =>
        log.LogError(subcategory: null, e.Code, helpKeyword: null, file: null, lineNumber: 0, columnNumber: 0, endLineNumber: 0, endColumnNumber: 0, e.Message);
}

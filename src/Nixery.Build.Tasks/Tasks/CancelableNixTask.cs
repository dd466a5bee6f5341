using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Tasks;

/// <summary>
/// The shape the long-running image tasks share: MSBuild's cancel (Ctrl+C) cancels the token <see cref="Run"/> is
/// given, and a coded <see cref="NixImageException"/> becomes an MSBuild error with its code, never a stack trace.
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
        finally
        {
            _cancel = null;
        }

        return !Log.HasLoggedErrors;
    }

    protected abstract void Run(CancellationToken cancellationToken);
}

internal static class TaskLoggingExtensions
{
    /// <summary>A coded error: <c>error NIXIMG###: message</c>, no file, no stack trace.</summary>
    public static void LogNixImageError(this TaskLoggingHelper log, NixImageException e) =>
        log.LogError(subcategory: null, e.Code, helpKeyword: null, file: null, lineNumber: 0, columnNumber: 0, endLineNumber: 0, endColumnNumber: 0, e.Message);
}

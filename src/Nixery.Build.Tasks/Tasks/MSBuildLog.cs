using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Tasks;

/// <summary>The engine's log, written to MSBuild's. Thread-safe: layers report from parallel workers.</summary>
internal sealed class MSBuildLog : IBuildLog
{
    private readonly TaskLoggingHelper _log;
    private readonly Lock _gate = new();

    public MSBuildLog(TaskLoggingHelper log) => _log = log;

    public void Info(string message)
    {
        lock (_gate)
        {
            _log.LogMessage(MessageImportance.High, message);
        }
    }

    public void Detail(string message)
    {
        lock (_gate)
        {
            _log.LogMessage(MessageImportance.Low, message);
        }
    }

    public void Warning(string code, string message)
    {
        lock (_gate)
        {
            _log.LogWarning(subcategory: null, code, helpKeyword: null, file: null, lineNumber: 0, columnNumber: 0, endLineNumber: 0, endColumnNumber: 0, message);
        }
    }
}

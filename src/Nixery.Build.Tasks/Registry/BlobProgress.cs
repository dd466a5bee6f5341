using System.Globalization;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Registry;

/// <summary>
/// One blob's progress in the build log: a line at most every <see cref="PushOptions.ProgressInterval"/> while it
/// uploads (bytes sent of the total), and one line for how it ended (uploaded, mounted, already there).
/// Thread-safe: the HTTP stack reads the body on its own threads.
/// </summary>
internal sealed class BlobProgress
{
    private readonly IBuildLog _log;
    private readonly TimeProvider _time;
    private readonly TimeSpan _interval;
    private readonly long _start;
    private readonly Lock _gate = new();
    private long _lastReport;

    public BlobProgress(IBuildLog log, string label, long total, TimeProvider time, TimeSpan interval)
    {
        _log = log;
        Label = label;
        Total = total;
        _time = time;
        _interval = interval;
        _start = time.GetTimestamp();
        _lastReport = _start;
    }

    public string Label { get; }

    public long Total { get; }

    /// <summary>The bytes of the blob sent so far (the absolute position of the request body being read).</summary>
    public void Report(long position)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            if (_time.GetElapsedTime(_lastReport, now) < _interval || position >= Total)
            {
                return;
            }

            _lastReport = now;
        }

        _log.Info($"  {Label}: {Size(position)} of {Size(Total)} sent");
    }

    public void Finished(string outcome) =>
        _log.Info($"  {Label} ({Size(Total)}): {outcome}");

    public void Uploaded() =>
        Finished($"uploaded in {_time.GetElapsedTime(_start).TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s");

    internal static string Size(long bytes) =>
        bytes >= 1_000_000
            ? (bytes / 1e6).ToString("0.0", CultureInfo.InvariantCulture) + " MB"
            : (bytes / 1e3).ToString("0.0", CultureInfo.InvariantCulture) + " kB";
}

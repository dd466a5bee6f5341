using Nixery.Build.Registry;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Registry;

public class BlobProgressTests
{
    [Fact]
    public void AtMostOneLineEveryIntervalWhileSendingAndOneWhenDone()
    {
        var log = new RecordingLog();
        var time = new SteppedTime();
        var progress = new BlobProgress(log, "layer 3/8 sha256:abc", 50_000_000, time, TimeSpan.FromSeconds(5));

        progress.Report(1_000_000);
        time.Advance(TimeSpan.FromSeconds(2));
        progress.Report(5_000_000);
        Assert.Empty(log.Lines);

        time.Advance(TimeSpan.FromSeconds(4));
        progress.Report(12_500_000);
        progress.Report(13_000_000);
        time.Advance(TimeSpan.FromSeconds(6));
        progress.Report(50_000_000);
        progress.Uploaded();

        Assert.Equal(
            [
                "  layer 3/8 sha256:abc: 12.5 MB of 50.0 MB sent",
                "  layer 3/8 sha256:abc (50.0 MB): uploaded in 12.0 s",
            ],
            log.Lines);
    }

    [Fact]
    public void ASkippedOrMountedBlobIsOneLine()
    {
        var log = new RecordingLog();
        new BlobProgress(log, "config sha256:def", 1_600, new SteppedTime(), TimeSpan.FromSeconds(5)).Finished("mounted from team/app");
        Assert.Equal(["  config sha256:def (1.6 kB): mounted from team/app"], log.Lines);
    }

    private sealed class SteppedTime : TimeProvider
    {
        private long _ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _ticks;

        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }
}

using System.Diagnostics;
using Nixery.Build.Processes;

namespace Nixery.Build.Tests.EndToEnd.Processes;

/// <summary>The one process runner (Nix's tools, credential helpers): real child processes, no shell between.</summary>
public class ProcessRunnerTests
{
    private static Task<ProcessResult> Shell(string script, List<string>? stderr = null, CancellationToken cancellationToken = default) =>
        ProcessRunner.RunAsync("/bin/sh", ["-c", script], line => stderr?.Add(line), cancellationToken);

    [Fact]
    public async Task ChildStartsWithNoSignalIgnoredAlthoughDotnetIgnoresSigpipe()
    {
        // This test host ignores SIGPIPE (every .NET process does), and Process.Start passes that on.
        var own = File.ReadAllLines("/proc/self/status").Single(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        Assert.NotEqual(0UL, Convert.ToUInt64(own["SigIgn:".Length..].Trim(), 16) & (1UL << (13 - 1)));

        var result = await Shell("grep -E '^Sig(Ign|Blk):' /proc/self/status");

        Assert.Equal(0, result.ExitCode);
        var masks = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(l => l[..l.IndexOf(':', StringComparison.Ordinal)], l => Convert.ToUInt64(l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim(), 16));
        Assert.Equal(0UL, masks["SigBlk"]);
        // Signals 1-31; glibc's posix_spawn leaves its own two real-time signals (32, 33) ignored, as it does for system().
        Assert.Equal(0UL, masks["SigIgn"] & 0x7fff_ffffUL);
    }

    [Fact]
    public async Task PipelineThatNeedsSigpipeEnds()
    {
        // `yes` only stops when SIGPIPE kills it; with SIGPIPE ignored it loops for ever (as a Nix builder did).
        var result = await Shell("yes nix | head -c 12").WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("nix\nnix\nnix\n", result.StandardOutput);
    }

    [Fact]
    public async Task ExitCodeOutputAndStderrTailAreReported()
    {
        var lines = new List<string>();

        var result = await Shell("echo out; for i in $(seq 1 50); do echo err$i >&2; done; exit 3", stderr: lines);

        Assert.Equal(3, result.ExitCode);
        Assert.Equal("out\n", result.StandardOutput);
        Assert.Equal(50, lines.Count);
        Assert.Equal(40, result.StandardErrorTail.Count);
        Assert.Equal("err50", result.StandardErrorTail[^1]);
    }

    [Fact]
    public async Task ProcessKilledBySignalReports128PlusTheSignal()
    {
        var result = await Shell("kill -9 $$");

        Assert.Equal(137, result.ExitCode);
    }

    [Fact]
    public async Task StandardInputIsEmpty()
    {
        var result = await Shell("cat; echo end");

        Assert.Equal("end\n", result.StandardOutput);
    }

    [Fact]
    public async Task GivenInputIsTheProcesssStandardInputThenItEnds()
    {
        var result = await ProcessRunner.RunAsync("/bin/sh", ["-c", "cat; echo; echo end"], _ => { }, CancellationToken.None, standardInput: "registry.example.com");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("registry.example.com\nend\n", result.StandardOutput);
    }

    [Fact]
    public async Task InputTheProcessDoesNotReadIsNotAnError()
    {
        var result = await ProcessRunner.RunAsync("/bin/sh", ["-c", "exec 0<&-; echo done"], _ => { }, CancellationToken.None, standardInput: new string('x', 1 << 20));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("done\n", result.StandardOutput);
    }

    [Fact]
    public async Task CancellingStopsTheProcessPromptly()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var stopwatch = Stopwatch.StartNew();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Shell("sleep 60", cancellationToken: cancel.Token));

        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task CancellingStopsWhatTheProcessStartedToo()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        using var marker = new Support.TempDirectory();
        var pidFile = marker.Combine("pid");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Shell($"sleep 60 & echo $! > {pidFile}; wait", cancellationToken: cancel.Token));

        var grandchild = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        await Task.Delay(200);
        Assert.False(Directory.Exists($"/proc/{grandchild}") && !File.ReadAllText($"/proc/{grandchild}/stat").Contains(") Z ", StringComparison.Ordinal), "the grandchild still runs");
    }

    [Fact]
    public async Task MissingProgramIsAnErrorNotAHang()
    {
        await Assert.ThrowsAnyAsync<System.ComponentModel.Win32Exception>(
            () => ProcessRunner.RunAsync("/nonexistent/nix-store", [], _ => { }, CancellationToken.None));
    }
}

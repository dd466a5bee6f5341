using Microsoft.Build.Framework;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// The NixLock target: Nix resolves and realises the request's packages, and their closure is written to the lock
/// file (<see cref="ImageJob.LockAsync"/>). Nothing is published and no image is built.
/// </summary>
public sealed class WriteNixLock : CancelableNixTask
{
    /// <summary>The request <see cref="PrepareNixImage"/> wrote.</summary>
    [Required]
    public string RequestFile { get; set; } = string.Empty;

    protected override string CancelledMessage => "NixLock cancelled; the lock file was left as it was.";

    protected override void Run(CancellationToken cancellationToken) =>
        ImageJob.LockAsync(RequestFile, new MSBuildLog(Log), Environment.GetEnvironmentVariable, cancellationToken).GetAwaiter().GetResult();
}

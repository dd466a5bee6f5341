namespace Nixery.Build.Registry;

/// <summary>How a push behaves; the defaults suit real registries, tests shrink the sizes and the waits.</summary>
public sealed record PushOptions
{
    /// <summary>Blobs uploaded at once.</summary>
    public int MaxParallelUploads { get; init; } = 3;

    /// <summary>Blobs up to this size go in one PUT; larger ones in PATCH chunks of <see cref="ChunkSize"/>.</summary>
    public long WholeUploadLimit { get; init; } = 8 * 1024 * 1024;

    public long ChunkSize { get; init; } = 16 * 1024 * 1024;

    public RetryPolicy Retry { get; init; } = RetryPolicy.Default;

    /// <summary>At most one progress line per blob this often.</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Sources tried for a cross-repository mount before uploading.</summary>
    public int MaxMountSources { get; init; } = 2;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The default of NixImageRegistryTimeout: how long a connection may take, or a request go without progress.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);
}

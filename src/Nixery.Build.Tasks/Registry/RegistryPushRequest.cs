namespace Nixery.Build.Registry;

/// <summary>Where and how to push, as plain values: the MSBuild task fills it from ContainerRegistry and friends.</summary>
public sealed record RegistryPushRequest
{
    public required RegistryHost Registry { get; init; }

    public required string Repository { get; init; }

    public required IReadOnlyList<string> Tags { get; init; }

    public InsecureRegistries Insecure { get; init; } = InsecureRegistries.None;

    /// <summary>How long connecting may take, and a request go without progress (NixImageRegistryTimeout).</summary>
    public TimeSpan Timeout { get; init; } = PushOptions.DefaultTimeout;

    /// <summary>The user's cache folder (NixImageCacheDirectory): where the push remembers which repositories hold which blobs.</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>The build's environment: credentials variables, DOCKER_CONFIG, HOME, SSL_CERT_FILE, PATH.</summary>
    public Func<string, string?> Environment { get; init; } = _ => null;

    /// <summary>The full references pushed, <c>registry/repository:tag</c>.</summary>
    public IEnumerable<string> References => Tags.Select(t => $"{Registry}/{Repository}:{t}");
}

/// <summary>What a push did.</summary>
/// <param name="References">Every tag pushed or found in place, as <c>registry/repository:tag</c>.</param>
public sealed record RegistryPushResult(IReadOnlyList<string> References, int Uploaded, int Mounted, int AlreadyThere, int TagsPushed, int TagsInPlace)
{
    /// <summary>How many referrers (SBOM artifacts) were attached now; those the registry already listed are not counted.</summary>
    public int ReferrersPushed { get; init; }
}

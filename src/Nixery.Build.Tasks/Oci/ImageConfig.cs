namespace Nixery.Build.Oci;

/// <summary>
/// The runtime settings of an image (the <c>config</c> object of the OCI image configuration).
/// Maps are written sorted by key; lists keep their order.
/// </summary>
public sealed record ContainerSettings
{
    public string? User { get; init; }

    /// <summary>Keys like <c>8080/tcp</c>.</summary>
    public IReadOnlyList<string> ExposedPorts { get; init; } = [];

    /// <summary><c>NAME=value</c> entries, in order.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    public IReadOnlyList<string> Entrypoint { get; init; } = [];

    public IReadOnlyList<string> Cmd { get; init; } = [];

    public string? WorkingDir { get; init; }

    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Settings a base image set that this package does not (Volumes, StopSignal, ...), as raw JSON by name; written after the others, sorted.</summary>
    public IReadOnlyDictionary<string, string> Carried { get; init; } = new Dictionary<string, string>();
}

/// <summary>One <c>history</c> entry: what produced a layer.</summary>
public sealed record HistoryEntry(string CreatedBy, string? Comment = null);

/// <summary>The OCI image configuration document.</summary>
public sealed record ImageConfig
{
    public required DateTimeOffset Created { get; init; }

    public required Platform Platform { get; init; }

    public required ContainerSettings Settings { get; init; }

    /// <summary>Uncompressed digests of the layers, bottom first.</summary>
    public required IReadOnlyList<Digest> DiffIds { get; init; }

    /// <summary>One entry per layer, bottom first.</summary>
    public required IReadOnlyList<HistoryEntry> History { get; init; }

    /// <summary>A base image's history entries as raw JSON objects: written first, unchanged.</summary>
    public IReadOnlyList<string> BaseHistory { get; init; } = [];
}

/// <summary>An image manifest: config and layers, bottom first.</summary>
public sealed record ImageManifest(string MediaType, Descriptor Config, IReadOnlyList<Descriptor> Layers)
{
    /// <summary>What an artifact manifest holds (OCI 1.1), e.g. <c>application/vnd.cyclonedx+json</c>; null for an image.</summary>
    public string? ArtifactType { get; init; }

    /// <summary>The manifest this one refers to (OCI 1.1 referrers): the image an SBOM describes.</summary>
    public Descriptor? Subject { get; init; }

    public IReadOnlyDictionary<string, string>? Annotations { get; init; }
}

/// <summary>
/// An image index: the OCI layout's <c>index.json</c>, or a multi-platform image (one manifest per platform, each
/// descriptor with its platform), as an OCI index or, for Docker-format images, a Docker manifest list.
/// </summary>
public sealed record ImageIndex(IReadOnlyList<Descriptor> Manifests, string MediaType = MediaTypes.OciIndex);

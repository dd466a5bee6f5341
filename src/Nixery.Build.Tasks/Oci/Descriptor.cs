namespace Nixery.Build.Oci;

/// <summary>An OCI content descriptor: what a manifest or index says about a blob.</summary>
public sealed record Descriptor(string MediaType, Digest Digest, long Size)
{
    /// <summary>Annotations, written sorted by key (ordinal).</summary>
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    /// <summary>The artifact type of the manifest a descriptor names (OCI 1.1): what a referrer holds, e.g. an SBOM.</summary>
    public string? ArtifactType { get; init; }

    /// <summary>The platform of the image a manifest descriptor names, in an index of several platforms.</summary>
    public Platform? Platform { get; init; }
}

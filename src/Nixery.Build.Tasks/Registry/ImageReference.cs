using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;

namespace Nixery.Build.Registry;

/// <summary>
/// An image as ContainerBaseImage names it: <c>[registry/]repository[:tag][@digest]</c>, read as Docker and the SDK
/// read it. Without a registry (the first component has no <c>.</c> or <c>:</c> and is not <c>localhost</c>) it is
/// Docker Hub, where a one-component name is under <c>library/</c>; without a tag or digest, the tag is <c>latest</c>.
/// </summary>
public sealed record ImageReference(RegistryHost Registry, string Repository, string? Tag, Digest? Digest)
{
    /// <summary>Docker Hub's name in references.</summary>
    public const string DockerHub = "docker.io";

    /// <summary>The host that serves Docker Hub's distribution API.</summary>
    public const string DockerHubApi = "registry-1.docker.io";

    /// <summary>What a manifest request names: the digest when pinned, else the tag.</summary>
    public string Reference => Digest?.Value ?? Tag!;

    /// <summary>The registry as references write it (<c>docker.io</c> for Docker Hub).</summary>
    public string RegistryName => Registry.Name == DockerHubApi ? DockerHub : Registry.Name;

    /// <summary>The full reference, registry included: <c>docker.io/library/busybox:1.36</c>, <c>host:5000/base@sha256:…</c>.</summary>
    public override string ToString() =>
        $"{RegistryName}/{Repository}{(Tag is null ? string.Empty : ":" + Tag)}{(Digest is null ? string.Empty : "@" + Digest)}";

    public static ImageReference Parse(string value, string setting = "ContainerBaseImage")
    {
        var text = value.Trim();
        Digest? digest = null;
        var at = text.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            if (!Oci.Digest.TryParse(text[(at + 1)..], out var parsed))
            {
                throw Invalid(setting, value, $"'{text[(at + 1)..]}' is not a sha256 digest (sha256: and 64 lower-case hex digits).");
            }

            digest = parsed;
            text = text[..at];
        }

        string? tag = null;
        var colon = text.LastIndexOf(':');
        if (colon > text.LastIndexOf('/'))
        {
            tag = text[(colon + 1)..];
            text = text[..colon];
            if (!ImageNames.IsValidTag(tag))
            {
                throw Invalid(setting, value, $"the tag '{tag}' is not valid (1 to 128 letters, digits, '_', '.', '-', not starting with '.' or '-').");
            }
        }

        var slash = text.IndexOf('/', StringComparison.Ordinal);
        var first = slash < 0 ? string.Empty : text[..slash];
        RegistryHost registry;
        string repository;
        if (slash > 0 && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost" || first.StartsWith('[')))
        {
            if (!RegistryHost.TryParse(first, out var host))
            {
                throw Invalid(setting, value, $"'{first}' is not a registry name (host[:port]).");
            }

            registry = host.Name is DockerHub or "index.docker.io" ? RegistryHost.Parse(DockerHubApi) : host;
            repository = text[(slash + 1)..];
        }
        else
        {
            registry = RegistryHost.Parse(DockerHubApi);
            repository = slash < 0 ? "library/" + text : text;
        }

        if (registry.Name == DockerHubApi && !repository.Contains('/', StringComparison.Ordinal))
        {
            repository = "library/" + repository;
        }

        if (!ImageNames.IsValidRepository(repository))
        {
            throw Invalid(setting, value, $"'{repository}' is not a repository name (lower-case letters, digits, and '.', '_', '-' between them, '/' between path components).");
        }

        return new ImageReference(registry, repository, tag ?? (digest is null ? "latest" : null), digest);
    }

    private static NixImageException Invalid(string setting, string value, string why) => new(
        ErrorCodes.InvalidBaseImage,
        $"{setting} '{value}' is not an image reference: {why} Write it as registry/repository:tag or registry/repository@sha256:…, e.g. 'mcr.microsoft.com/dotnet/runtime-deps:10.0'.");
}

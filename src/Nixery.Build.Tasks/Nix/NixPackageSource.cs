using System.Text.Json;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Nix;

/// <summary>Where the package set comes from. Exactly one form; <c>&lt;nixpkgs&gt;</c> from NIX_PATH when none is given.</summary>
public abstract record NixPackageSource
{
    /// <summary>A local Nix file or folder (absolute).</summary>
    public sealed record LocalPath(string Path) : NixPackageSource
    {
        public override string Describe() => Path;

        internal override void WriteJson(Utf8JsonWriter w)
        {
            w.WriteString("type", "path");
            w.WriteString("path", Path);
        }
    }

    /// <summary>A tarball of a package set: a channel's or commit's archive, or any URL of a nixexprs tarball.</summary>
    public sealed record Channel(string Name, string Url) : NixPackageSource
    {
        public override string Describe() => Name == Url ? Url : $"channel {Name} ({Url})";

        internal override void WriteJson(Utf8JsonWriter w)
        {
            w.WriteString("type", "channel");
            w.WriteString("name", Name);
            w.WriteString("url", Url);
        }
    }

    /// <summary>A git repository, optionally at a revision.</summary>
    public sealed record Git(string Url, string? Revision) : NixPackageSource
    {
        public override string Describe() => Revision is null ? Url : $"{Url} at {Revision}";

        internal override void WriteJson(Utf8JsonWriter w)
        {
            w.WriteString("type", "git");
            w.WriteString("url", Url);
            if (Revision is not null)
            {
                w.WriteString("rev", Revision);
            }
        }
    }

    /// <summary><c>&lt;nixpkgs&gt;</c>, looked up in NIX_PATH by Nix.</summary>
    public sealed record SearchPath : NixPackageSource
    {
        public override string Describe() => "<nixpkgs> from NIX_PATH";

        internal override void WriteJson(Utf8JsonWriter w) => w.WriteString("type", "searchPath");
    }

    /// <summary>How the source reads in messages.</summary>
    public abstract string Describe();

    internal abstract void WriteJson(Utf8JsonWriter w);

    /// <summary>The JSON the embedded Nix expression receives as its <c>source</c> argument.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            WriteJson(writer);
            writer.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads what <see cref="ToJson"/> wrote.</summary>
    public static NixPackageSource FromJson(JsonElement json) => json.GetProperty("type").GetString() switch
    {
        "path" => new LocalPath(json.GetProperty("path").GetString()!),
        "channel" => new Channel(json.TryGetProperty("name", out var name) ? name.GetString()! : json.GetProperty("url").GetString()!, json.GetProperty("url").GetString()!),
        "git" => new Git(json.GetProperty("url").GetString()!, json.TryGetProperty("rev", out var rev) ? rev.GetString() : null),
        "searchPath" => new SearchPath(),
        var other => throw new FormatException($"Unknown package source type '{other}'."),
    };

    /// <summary>
    /// The source named by the MSBuild properties. A channel name (no <c>://</c>) means the nixpkgs
    /// archive of that branch or commit on GitHub, as Nixery does; a URL is used as given.
    /// </summary>
    /// <param name="baseDirectory">Relative <paramref name="path"/>s are taken from here (the project folder).</param>
    public static NixPackageSource From(string? path, string? channel, string? gitRepository, string? gitRevision, string baseDirectory)
    {
        var given = new[] { ("NixPkgsPath", path), ("NixPkgsChannel", channel), ("NixPkgsGitRepository", gitRepository) }
            .Where(p => !string.IsNullOrWhiteSpace(p.Item2))
            .Select(p => p.Item1)
            .ToList();
        if (given.Count > 1)
        {
            throw new NixImageException(
                ErrorCodes.InvalidPackageSource,
                $"Only one package source may be set, but {string.Join(" and ", given)} are. Remove all but one.");
        }

        if (!string.IsNullOrWhiteSpace(gitRevision) && string.IsNullOrWhiteSpace(gitRepository))
        {
            throw new NixImageException(
                ErrorCodes.InvalidPackageSource,
                "NixPkgsGitRevision is set without NixPkgsGitRepository. Set the repository too, or remove the revision.");
        }

        if (!string.IsNullOrWhiteSpace(path))
        {
            var full = System.IO.Path.GetFullPath(path.Trim(), baseDirectory);
            if (!File.Exists(full) && !Directory.Exists(full))
            {
                throw new NixImageException(
                    ErrorCodes.InvalidPackageSource,
                    $"NixPkgsPath '{path}' does not exist (looked for '{full}'). Point it at a Nix file or a folder with a default.nix.");
            }

            return new LocalPath(full.TrimEnd('/'));
        }

        if (!string.IsNullOrWhiteSpace(channel))
        {
            var name = channel.Trim();
            var url = name.Contains("://", StringComparison.Ordinal)
                ? name
                : $"https://github.com/NixOS/nixpkgs/archive/{Uri.EscapeDataString(name)}.tar.gz";
            return new Channel(name, url);
        }

        if (!string.IsNullOrWhiteSpace(gitRepository))
        {
            var revision = string.IsNullOrWhiteSpace(gitRevision) ? null : gitRevision.Trim();
            if (revision is not null && !IsCommitHash(revision))
            {
                throw new NixImageException(
                    ErrorCodes.InvalidPackageSource,
                    $"NixPkgsGitRevision '{revision}' is not a full 40-character commit hash. Use the commit's full hash so the package set is pinned.");
            }

            return new Git(gitRepository.Trim(), revision);
        }

        return new SearchPath();
    }

    private static bool IsCommitHash(string value) =>
        value.Length == 40 && value.All(char.IsAsciiHexDigitLower);
}

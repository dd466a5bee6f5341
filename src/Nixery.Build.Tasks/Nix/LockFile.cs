using System.Text.Json;
using Nixery.Build.Diagnostics;

namespace Nixery.Build.Nix;

/// <summary>One platform's part of the lock file: the package set it was resolved from, the packages, and their whole runtime closure.</summary>
/// <param name="Source">The package set, as <see cref="LockFile.SourceOf"/> names it.</param>
public sealed record LockedPlatform(string Source, IReadOnlyList<ResolvedPackage> Packages, IReadOnlyDictionary<string, StorePathInfo> Paths)
{
    public RuntimeClosure Closure => new(Packages, Paths);
}

/// <summary>
/// <c>nix-image.lock.json</c>: what Nix resolved for each platform (Nix system), so a machine without Nix builds the
/// same image from a binary cache. Written by a build that ran Nix, read by one that cannot; meant to be committed,
/// so it is sorted, indented, and rewritten only when its content changes.
/// </summary>
public static class LockFile
{
    public const string FileName = "nix-image.lock.json";

    /// <summary>2: packages record the output they use (an app-host package's library output; version 1 took the first).</summary>
    private const int Version = 2;

    private static readonly byte[] Utf8ByteOrderMark = [0xEF, 0xBB, 0xBF];

    /// <summary>
    /// How the lock names a package set: as the project sets it, with a local folder relative to the project (so the
    /// lock holds on another checkout).
    /// </summary>
    public static string SourceOf(NixPackageSource source, string projectDirectory) => source switch
    {
        NixPackageSource.LocalPath local => "path " + Path.GetRelativePath(projectDirectory, local.Path).Replace('\\', '/'),
        NixPackageSource.Channel channel => "channel " + channel.Url,
        NixPackageSource.Git git => "git " + git.Url + (git.Revision is null ? string.Empty : " " + git.Revision),
        _ => "NIX_PATH <nixpkgs>",
    };

    /// <summary>Every platform of the lock at <paramref name="path"/>; a missing or unreadable file is NIXIMG047.</summary>
    public static IReadOnlyDictionary<string, LockedPlatform> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new NixImageException(
                ErrorCodes.LockFileMissing,
                $"Nix is not available here and there is no lock file '{path}' to build from. "
                + "On a machine with Nix, run 'dotnet build -t:NixLock' (or publish with NixImage=true) and commit the nix-image.lock.json it writes.");
        }

        try
        {
            return Parse(File.ReadAllBytes(path));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(
                ErrorCodes.LockFileMissing,
                $"The lock file '{path}' cannot be read ({e.Message}). Write it again on a machine with Nix: 'dotnet build -t:NixLock'.",
                e);
        }
    }

    internal static IReadOnlyDictionary<string, LockedPlatform> Parse(byte[] json)
    {
        // An editor may save the file with a UTF-8 byte order mark; JSON readers need not accept one, so it is dropped.
        var text = json.AsSpan().StartsWith(Utf8ByteOrderMark) ? json.AsMemory(Utf8ByteOrderMark.Length) : json.AsMemory();
        using var document = JsonDocument.Parse(text);
        var root = LockJson.Object(document.RootElement, "the file");
        var version = LockJson.Integer(root, "version", "the file");
        if (version != Version)
        {
            throw new FormatException($"it is version {version}, and this package reads version {Version}");
        }

        var platforms = new SortedDictionary<string, LockedPlatform>(StringComparer.Ordinal);
        foreach (var platform in LockJson.Object(LockJson.Property(root, "platforms", "the file"), "'platforms'").EnumerateObject())
        {
            var where = $"platform '{platform.Name}'";
            var value = LockJson.Object(platform.Value, where);
            var packages = LockJson.Array(value, "packages", where).Select((p, i) => LockJson.Package(p, $"package {i + 1} of {where}")).ToList();
            var paths = new SortedDictionary<string, StorePathInfo>(StringComparer.Ordinal);
            foreach (var entry in LockJson.Object(LockJson.Property(value, "closure", where), $"the closure of {where}").EnumerateObject())
            {
                paths[entry.Name] = LockJson.StorePath(entry.Name, entry.Value, where);
            }

            platforms[platform.Name] = new LockedPlatform(LockJson.String(value, "source", where), packages, paths);
        }

        return platforms;
    }

    /// <summary>
    /// Why a locked platform does not hang together, or null when it does: every package's store path and every
    /// reference must be a path of its closure (a lock edited by hand, or merged badly, may break that).
    /// </summary>
    public static string? Inconsistency(LockedPlatform locked)
    {
        if (locked.Packages.FirstOrDefault(p => !locked.Paths.ContainsKey(p.StorePath)) is { } package)
        {
            return $"the package '{package.Name}' is {package.StorePath}, which is not in its closure";
        }

        foreach (var path in locked.Paths.Values)
        {
            if (path.References.FirstOrDefault(r => !locked.Paths.ContainsKey(r)) is { } reference)
            {
                return $"{path.Path} refers to {reference}, which is not in the closure";
            }
        }

        return null;
    }

    /// <summary>
    /// Records <paramref name="locked"/> as <paramref name="system"/>'s part of the lock at <paramref name="path"/>, keeping
    /// the other platforms; the file is rewritten only when its bytes change. Returns whether it was.
    /// </summary>
    public static bool Update(string path, string system, LockedPlatform locked)
    {
        if (locked.Paths.Values.FirstOrDefault(p => p.NarHash is null) is { } unhashed)
        {
            throw new InvalidOperationException($"{unhashed.Path} has no NAR hash; Nix reports one for every valid path.");
        }

        // Inner builds of several platforms may update the lock at once: one at a time, each over the other's result.
        using var held = HoldExclusively(path);
        var before = File.Exists(path) ? File.ReadAllBytes(path) : [];
        var platforms = new SortedDictionary<string, LockedPlatform>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, platform) in Parse(before))
            {
                platforms[name] = platform;
            }
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            // A new or unreadable lock is replaced by what Nix says now.
        }

        platforms[system] = locked;
        var bytes = Serialize(platforms);
        if (before.AsSpan().SequenceEqual(bytes))
        {
            return false;
        }

        var temporary = path + ".partial";
        File.WriteAllBytes(temporary, bytes);
        File.Move(temporary, path, overwrite: true);
        return true;
    }

    internal static byte[] Serialize(IReadOnlyDictionary<string, LockedPlatform> platforms)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping: the file is read by people in diffs ("libstdc++", not "libstdc\u002B\u002B"), never put in HTML.
        var options = new JsonWriterOptions { Indented = true, NewLine = "\n", Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        using (var w = new Utf8JsonWriter(buffer, options))
        {
            w.WriteStartObject();
            w.WriteNumber("version", Version);
            w.WriteStartObject("platforms");
            foreach (var (system, platform) in platforms.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                w.WriteStartObject(system);
                w.WriteString("source", platform.Source);
                w.WriteStartArray("packages");
                foreach (var p in platform.Packages)
                {
                    p.Write(w);
                }

                w.WriteEndArray();
                w.WriteStartObject("closure");
                foreach (var info in platform.Paths.Values.OrderBy(p => p.Path, StringComparer.Ordinal))
                {
                    w.WriteStartObject(info.Path);
                    var name = DerivationName.FromDeriver(info.Deriver) ?? DerivationName.Parse(RuntimeClosure.NameOf(info.Path));
                    w.WriteString("name", name.Name);
                    w.WriteString("version", name.Version);
                    if (StorePathText.IsStorePath(info.Deriver))
                    {
                        // The derivation's own path, as Nix knows it: the SBOM names it (nix:drv_path), with or without Nix.
                        w.WriteString("deriver", info.Deriver);
                    }

                    w.WriteString("narHash", info.NarHash!.ToString());
                    w.WriteNumber("narSize", info.NarSize);
                    w.WriteStartArray("references");
                    foreach (var reference in info.References.Order(StringComparer.Ordinal))
                    {
                        w.WriteStringValue(reference);
                    }

                    w.WriteEndArray();
                    w.WriteEndObject();
                }

                w.WriteEndObject();
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>
    /// An flock on a file of its own for this lock file (in the temporary folder, named by the lock's path, never
    /// renamed or deleted, so every process locks the same file).
    /// </summary>
    private static FileStream HoldExclusively(string path)
    {
        var name = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(path))))[..32];
        var file = Path.Combine(Path.GetTempPath(), $"nixery-build-lock-{name}");
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(file, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (attempt < 600 && e is not (DirectoryNotFoundException or FileNotFoundException or PathTooLongException))
            {
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>Why a locked platform is not what the project asks for, or null when it is.</summary>
    public static string? Mismatch(LockedPlatform locked, string source, IReadOnlyList<PackageRequest> packages)
    {
        if (locked.Source != source)
        {
            return $"it was resolved from '{locked.Source}', and the project uses '{source}'";
        }

        var lockedNames = locked.Packages.Select(p => (p.Name, p.Origin)).ToList();
        var wanted = packages.Select(p => (p.Name, p.Origin)).ToList();
        if (!lockedNames.SequenceEqual(wanted))
        {
            var added = wanted.Select(p => p.Name).Except(lockedNames.Select(p => p.Name)).ToList();
            var removed = lockedNames.Select(p => p.Name).Except(wanted.Select(p => p.Name)).ToList();
            var parts = new List<string>();
            if (added.Count > 0)
            {
                parts.Add("the project adds " + string.Join(", ", added));
            }

            if (removed.Count > 0)
            {
                parts.Add("the project no longer asks for " + string.Join(", ", removed));
            }

            return parts.Count > 0 ? string.Join("; ", parts)
                : lockedNames.Select(p => p.Name).SequenceEqual(wanted.Select(p => p.Name)) ? "a package is now asked for by another setting (" + string.Join(", ", wanted.Except(lockedNames).Select(p => $"{p.Name} by {p.Origin}")) + ")"
                : "the packages are in another order";
        }

        return null;
    }
}

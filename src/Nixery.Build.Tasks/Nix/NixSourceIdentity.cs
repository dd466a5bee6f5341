using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Nixery.Build.Nix;

/// <summary>
/// What identifies a package set's contents without evaluating it, so that Nix need not run again while it
/// is the same: a pinned git revision, a channel or URL that names a commit, a path in the (immutable) Nix
/// store, or, for a local folder, a cheap fingerprint of its files (paths, sizes, modification times).
/// Null when nothing visible pins the set (a branch name, a git repository without revision, a remote URL
/// without a commit): then Nix runs on every build.
/// </summary>
public static partial class NixSourceIdentity
{
    [GeneratedRegex("(?<![0-9a-f])[0-9a-f]{40}(?![0-9a-f])", RegexOptions.CultureInvariant)]
    private static partial Regex CommitHash();

    public static string? Of(NixPackageSource source, string? nixPath) => source switch
    {
        NixPackageSource.LocalPath local => OfLocalPath(local.Path),
        NixPackageSource.Git { Revision: { } revision } git => $"git {git.Url} {revision}",
        NixPackageSource.Git => null,
        NixPackageSource.Channel channel when channel.Url.StartsWith("file://", StringComparison.Ordinal) =>
            OfLocalPath(Uri.UnescapeDataString(channel.Url["file://".Length..])) is { } file ? $"tarball {channel.Url} {file}" : null,
        NixPackageSource.Channel channel => CommitHash().IsMatch(channel.Url) ? $"url {channel.Url}" : null,
        _ => SearchPathEntry(nixPath) is { } path ? OfLocalPath(path) : null,
    };

    /// <summary>The store path a local path resolves to, or a fingerprint of the file or folder.</summary>
    internal static string? OfLocalPath(string path)
    {
        FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
        if (!info.Exists)
        {
            return null;
        }

        var resolved = info.LinkTarget is null ? info.FullName : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
        if (resolved.StartsWith("/nix/store/", StringComparison.Ordinal))
        {
            return "store " + resolved;
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        if (info is FileInfo file)
        {
            Add(hash, ".", file);
        }
        else
        {
            var root = (DirectoryInfo)info;
            var pending = new Stack<DirectoryInfo>();
            pending.Push(root);
            while (pending.Count > 0)
            {
                var directory = pending.Pop();
                foreach (var child in directory.EnumerateFileSystemInfos().OrderBy(c => c.Name, StringComparer.Ordinal))
                {
                    var relative = Path.GetRelativePath(root.FullName, child.FullName);
                    var skip = child.Name == ".git" || (directory == root && child.Name.StartsWith("result", StringComparison.Ordinal) && child.LinkTarget is not null);
                    if (skip)
                    {
                        continue;
                    }

                    if (child is DirectoryInfo subdirectory && child.LinkTarget is null)
                    {
                        pending.Push(subdirectory);
                    }
                    else
                    {
                        Add(hash, relative, child);
                    }
                }
            }
        }

        return "files " + Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Add(IncrementalHash hash, string relative, FileSystemInfo entry)
    {
        var line = entry.LinkTarget is { } target
            ? $"{relative} -> {target}\n"
            : $"{relative} {((FileInfo)entry).Length.ToString(CultureInfo.InvariantCulture)} {entry.LastWriteTimeUtc.Ticks.ToString(CultureInfo.InvariantCulture)}\n";
        hash.AppendData(Encoding.UTF8.GetBytes(line));
    }

    /// <summary>Where <c>&lt;nixpkgs&gt;</c> points in NIX_PATH, when that is a local path.</summary>
    internal static string? SearchPathEntry(string? nixPath)
    {
        foreach (var entry in SplitNixPath(nixPath ?? string.Empty))
        {
            if (entry.StartsWith("nixpkgs=", StringComparison.Ordinal))
            {
                var value = entry["nixpkgs=".Length..];
                return value.Contains("://", StringComparison.Ordinal) ? null : value;
            }

            if (!entry.Contains('=', StringComparison.Ordinal) && !entry.Contains("://", StringComparison.Ordinal)
                && Path.Exists(Path.Combine(entry, "nixpkgs")))
            {
                return Path.Combine(entry, "nixpkgs");
            }
        }

        return null;
    }

    /// <summary>NIX_PATH entries are ':'-separated, but URLs in them have ':' too (https://...).</summary>
    private static IEnumerable<string> SplitNixPath(string nixPath)
    {
        var parts = nixPath.Split(':');
        for (var i = 0; i < parts.Length; i++)
        {
            var entry = parts[i];
            while (i + 1 < parts.Length && parts[i + 1].StartsWith("//", StringComparison.Ordinal))
            {
                entry += ":" + parts[++i];
            }

            if (entry.Length > 0)
            {
                yield return entry;
            }
        }
    }
}

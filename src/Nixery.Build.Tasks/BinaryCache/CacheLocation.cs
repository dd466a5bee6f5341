using Nixery.Build.LayerFormat;

namespace Nixery.Build.BinaryCache;

/// <summary>A file a binary cache must not give: its name leaves the cache, or it is not a regular file.</summary>
public sealed class CacheFileRefusedException(string message) : Exception(message);

/// <summary>
/// Where a file a binary cache names (a narinfo's <c>URL</c>, which no signature covers) may be: under the cache and
/// nowhere else. A name is relative, without <c>.</c> or <c>..</c> parts; a folder cache's file must resolve, symlinks
/// followed, to a regular file inside the folder; an HTTP cache's file must be under the cache's URL.
/// </summary>
public static class CacheLocation
{
    private const int MaxLinkHops = 40;

    /// <summary>Why <paramref name="relative"/> is not a name under a cache, or null when it is.</summary>
    public static string? Problem(string relative, bool http)
    {
        if (relative.Length == 0)
        {
            return "is empty";
        }

        if (relative.Contains("://", StringComparison.Ordinal) || relative.StartsWith('/') || (!http && relative.Contains(':', StringComparison.Ordinal)))
        {
            return "leaves the cache (it is not relative to the cache)";
        }

        if (relative.Any(c => char.IsControl(c) || c == '\\'))
        {
            return "leaves the cache (it has a backslash or a control character)";
        }

        var path = http ? relative.Split('?', '#')[0] : relative;
        foreach (var part in path.Split('/'))
        {
            var name = http ? Uri.UnescapeDataString(part) : part;
            if (name is "" or "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal))
            {
                return "leaves the cache";
            }
        }

        return null;
    }

    /// <summary>The address of <paramref name="relative"/> under an HTTP cache, which must stay under the cache's own path.</summary>
    /// <exception cref="CacheFileRefusedException">The name leaves the cache.</exception>
    public static Uri Address(Uri cache, string relative)
    {
        var problem = Problem(relative, http: true);
        var root = cache.AbsoluteUri.TrimEnd('/') + "/";
        if (problem is null && Uri.TryCreate(root + relative, UriKind.Absolute, out var address)
            && address.Scheme == cache.Scheme && address.Authority == cache.Authority
            && address.AbsolutePath.StartsWith(new Uri(root).AbsolutePath, StringComparison.Ordinal))
        {
            return address;
        }

        throw new CacheFileRefusedException($"'{Shown(relative)}' {problem ?? "leaves the cache"}");
    }

    /// <summary>
    /// The real path of <paramref name="relative"/> in the folder cache at <paramref name="folder"/>, checked before
    /// anything opens it: inside the folder once every symlink is followed, and a regular file (a FIFO would block
    /// the build, a device such as /dev/zero fill the disk).
    /// </summary>
    /// <exception cref="CacheFileRefusedException">It leaves the folder, or is not a regular file.</exception>
    /// <exception cref="CacheFileMissingException">There is no such file.</exception>
    public static string File(string folder, string relative)
    {
        if (Problem(relative, http: false) is { } problem)
        {
            throw new CacheFileRefusedException($"'{Shown(relative)}' {problem}");
        }

        var root = RealPath(Path.GetFullPath(folder));
        var path = RealPath(Path.Combine(root, relative));
        if (!path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal))
        {
            throw new CacheFileRefusedException($"'{Shown(relative)}' leaves the cache (through a symlink)");
        }

        if (Directory.Exists(path))
        {
            throw new CacheFileRefusedException($"'{Shown(relative)}' is a folder, not a file");
        }

        if (!System.IO.File.Exists(path))
        {
            throw new CacheFileMissingException("it has no " + Shown(relative));
        }

        if (!FileKind.IsRegularFile(path))
        {
            throw new CacheFileRefusedException($"'{Shown(relative)}' is not a regular file (a FIFO, socket or device)");
        }

        return path;
    }

    /// <summary>
    /// An absolute path with every symlink in it followed, as realpath(3) gives it; parts that do not exist are kept
    /// as they are. A loop of symlinks ends after <see cref="MaxLinkHops"/> hops in an <see cref="CacheFileRefusedException"/>.
    /// </summary>
    internal static string RealPath(string path)
    {
        var pending = new LinkedList<string>(path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        var resolved = new List<string>();
        var hops = 0;
        while (pending.First is { } first)
        {
            pending.RemoveFirst();
            var part = first.Value;
            if (part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            var candidate = "/" + string.Join('/', resolved.Append(part));
            var target = new FileInfo(candidate).LinkTarget;
            if (target is null)
            {
                resolved.Add(part);
                continue;
            }

            if (++hops > MaxLinkHops)
            {
                throw new CacheFileRefusedException("a loop of symlinks");
            }

            if (target.StartsWith('/'))
            {
                resolved.Clear();
            }

            foreach (var next in target.Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse())
            {
                pending.AddFirst(next);
            }
        }

        return "/" + string.Join('/', resolved);
    }

    /// <summary>A name for a message: at most 200 characters, control characters as '?'.</summary>
    internal static string Shown(string text)
    {
        var shown = new string(text.Take(200).Select(c => char.IsControl(c) ? '?' : c).ToArray());
        return text.Length > 200 ? shown + "…" : shown;
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Nixery.Build.LayerFormat;

namespace Nixery.Build.Sources;

/// <summary>The publish folder as the incremental check sees it.</summary>
public static class PublishFolder
{
    /// <summary>
    /// Hex SHA-256 of every entry's relative path, kind, size and modification time, in ordinal order; null when the
    /// folder does not exist. MSBuild's own check compares times only, so it misses a file that appears (or goes)
    /// with a time older than the image; this does not.
    /// </summary>
    public static string? Fingerprint(string publishDirectory)
    {
        if (!Directory.Exists(publishDirectory))
        {
            return null;
        }

        var root = Path.GetFullPath(publishDirectory);
        var lines = new DirectoryInfo(root)
            .EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.None })
            .Select(e => string.Create(CultureInfo.InvariantCulture, $"{Path.GetRelativePath(root, e.FullName)}\0{Kind(e)}\0{(e as FileInfo)?.Length ?? 0}\0{e.LastWriteTimeUtc.Ticks}\n"))
            .Order(StringComparer.Ordinal);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var line in lines)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(line));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Entries that are neither folders, regular files nor symlinks (FIFOs, sockets, devices), relative to the folder.</summary>
    public static IReadOnlyList<string> SpecialFiles(string publishDirectory)
    {
        var root = Path.GetFullPath(publishDirectory);
        return Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Where(f => !FileKind.IsRegularFile(f))
            .Select(f => Path.GetRelativePath(root, f))
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    private static char Kind(FileSystemInfo entry) => entry.LinkTarget is not null ? 'l' : entry is DirectoryInfo ? 'd' : 'f';
}

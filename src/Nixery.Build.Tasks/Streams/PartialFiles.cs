namespace Nixery.Build.Streams;

/// <summary>
/// The temporary files every atomic write leaves while it runs (<c>*.partial</c>, renamed into place when whole).
/// A write holds its file open exclusively, which .NET turns into an advisory lock (<c>flock</c>) other processes
/// see; a file nobody holds and nobody wrote to for a while was left by a build that was killed.
/// </summary>
public static class PartialFiles
{
    /// <summary>Files written in the last minute are spared: a writer may have just created one.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromMinutes(1);

    /// <summary>Creates a temporary file for writing, held exclusively until disposed.</summary>
    public static FileStream Create(string path) =>
        new(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 16);

    /// <summary>Writes a small file whole or not at all: a temporary file beside it, then a rename.</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> content)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.partial");
        try
        {
            using (var stream = Create(temporary))
            {
                stream.Write(content);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Writes <paramref name="content"/> as <see cref="WriteAllBytes"/> does, unless the file holds exactly it already; true if it wrote.</summary>
    public static bool WriteIfChanged(string path, ReadOnlySpan<byte> content)
    {
        if (File.Exists(path) && File.ReadAllBytes(path).AsSpan().SequenceEqual(content))
        {
            return false;
        }

        WriteAllBytes(path, content);
        return true;
    }

    /// <summary>Deletes the files matching <paramref name="pattern"/> in <paramref name="folder"/> that no live process holds; returns their bytes.</summary>
    public static long RemoveAbandoned(string folder, string pattern)
    {
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        long freed = 0;
        var quietSince = DateTime.UtcNow - Quiet;
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles(pattern))
        {
            if (file.LastWriteTimeUtc > quietSince)
            {
                continue;
            }

            try
            {
                // Succeeds only when no other process holds the file: its writer is gone.
                using (new FileStream(file.FullName, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                }

                file.Delete();
                freed += file.Length;
            }
            catch (IOException)
            {
                // Held by a build that is still writing it, or gone already.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours to remove (a shared cache written by another user).
            }
        }

        return freed;
    }
}

namespace Nixery.Build.LayerFormat;

/// <summary>
/// One entry of a layer tar. <see cref="Path"/> is relative to the image root, '/'-separated,
/// without a leading or trailing slash (<c>nix/store/abc-jq-1.7/bin/jq</c>).
/// The owner is root (0:0) unless an entry says otherwise, and never has a name; the modification
/// time is the writer's fixed time.
/// </summary>
public abstract record LayerEntry(string Path)
{
    public int Uid { get; init; }

    public int Gid { get; init; }
}

public sealed record DirectoryEntry(string Path, int Mode) : LayerEntry(Path);

/// <summary>
/// A regular file whose bytes are read from <see cref="SourcePath"/> (<see cref="Size"/> bytes on disk, from
/// <see cref="Offset"/>) when the tar is written, with <see cref="Patch"/> applied on the way when there is one.
/// </summary>
public sealed record FileEntry(string Path, int Mode, string SourcePath, long Size) : LayerEntry(Path)
{
    /// <summary>Where the file's bytes start in <see cref="SourcePath"/>: 0 for a file of its own, more for a file inside a NAR.</summary>
    public long Offset { get; init; }

    public FilePatch? Patch { get; init; }

    /// <summary>The file's size in the layer: on disk, plus what the patch appends.</summary>
    public long LayerSize => Size + (Patch?.Appended.Length ?? 0);
}

public sealed record SymlinkEntry(string Path, string Target) : LayerEntry(Path);

/// <summary>A small generated file (such as /etc/passwd) whose bytes are given, not read from disk.</summary>
public sealed record InlineFileEntry(string Path, int Mode, ReadOnlyMemory<byte> Content) : LayerEntry(Path);

/// <summary>Unix permission bits used across the writers (C# has no octal literals).</summary>
public static class UnixModes
{
    /// <summary>0755: directories and executables.</summary>
    public const int Executable = 0b111_101_101;

    /// <summary>0644: ordinary files.</summary>
    public const int Regular = 0b110_100_100;

    /// <summary>01777: world-writable with the sticky bit, as /tmp.</summary>
    public const int StickyWorldWritable = 0b1_111_111_111;

    /// <summary>0777: symlinks.</summary>
    public const int Symlink = 0b111_111_111;

    /// <summary>Permission bits plus setuid, setgid and sticky.</summary>
    public const int PermissionMask = 0b111_111_111_111;

    /// <summary>Any execute bit.</summary>
    public const int AnyExecute = 0b001_001_001;
}

using System.Text;
using Nixery.Build.Archive;

namespace Nixery.Build.Layers;

/// <summary>
/// The users every image knows, as the .NET SDK's images have them: <c>root</c> (0), <c>app</c> (1654, the
/// default non-root user) and <c>nobody</c> (65534). Written as <c>/etc/passwd</c> and <c>/etc/group</c>,
/// with a home folder for <c>app</c> that it owns.
/// </summary>
public static class UserDatabase
{
    public const int AppUid = 1654;
    public const string AppUser = "app";
    public const string AppHome = "/home/app";

    /// <summary>The user names of <c>/etc/passwd</c>.</summary>
    public static readonly IReadOnlyCollection<string> UserNames = ["root", AppUser, "nobody"];

    /// <summary>The group names of <c>/etc/group</c>.</summary>
    public static readonly IReadOnlyCollection<string> GroupNames = ["root", AppUser, "nobody"];

    private const string Passwd =
        "root:x:0:0:root:/root:/bin/sh\n"
        + "app:x:1654:1654:app:/home/app:/bin/sh\n"
        + "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n";

    private const string Group =
        "root:x:0:\n"
        + "app:x:1654:\n"
        + "nobody:x:65534:\n";

    /// <summary>The entries the symlink layer gains: <c>/etc/passwd</c>, <c>/etc/group</c>, <c>/home/app</c> and <c>/root</c>.</summary>
    public static IReadOnlyList<LayerEntry> Entries() =>
    [
        new InlineFileEntry("etc/passwd", UnixModes.Regular, Encoding.ASCII.GetBytes(Passwd)),
        new InlineFileEntry("etc/group", UnixModes.Regular, Encoding.ASCII.GetBytes(Group)),
        new DirectoryEntry("home", UnixModes.Executable),
        new DirectoryEntry("home/app", UnixModes.Executable) { Uid = AppUid, Gid = AppUid },
        new DirectoryEntry("root", 0b111_000_000),
    ];
}

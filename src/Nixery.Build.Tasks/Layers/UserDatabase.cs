using System.Text;
using Nixery.Build.LayerFormat;

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

    /// <summary>
    /// The entries an image built on a base gains, leaving every file the base has alone except to add to it:
    /// <list type="bullet">
    /// <item>the base's <c>/etc/passwd</c> and <c>/etc/group</c> gain the <c>app</c> user and group (1654) when they have
    /// neither that name nor that id; a base without them gets this package's (root, app, nobody); one where they are
    /// not regular files (a symlink) is left as it is;</item>
    /// <item><c>/home/app</c>, owned by app, when the app user is added and the base has no such folder;</item>
    /// <item><c>/tmp</c> (1777) when the base has none.</item>
    /// </list>
    /// </summary>
    public static IReadOnlyList<LayerEntry> EntriesOver(BaseRoot root)
    {
        var entries = new List<LayerEntry>();
        if (!root.HasEtc)
        {
            entries.Add(new DirectoryEntry("etc", UnixModes.Executable));
        }

        var addedUser = Extend(entries, "etc/passwd", root.Passwd, Passwd, $"{AppUser}:x:{AppUid}:{AppUid}:{AppUser}:{AppHome}:/bin/sh\n");
        Extend(entries, "etc/group", root.Group, Group, $"{AppUser}:x:{AppUid}:\n");
        if (addedUser && !root.HasHomeApp)
        {
            if (!root.HasHome)
            {
                entries.Add(new DirectoryEntry("home", UnixModes.Executable));
            }

            entries.Add(new DirectoryEntry("home/app", UnixModes.Executable) { Uid = AppUid, Gid = AppUid });
        }

        if (!root.HasTmp)
        {
            entries.Add(new DirectoryEntry("tmp", UnixModes.StickyWorldWritable));
        }

        return entries;
    }

    /// <summary>
    /// Why the app user cannot be added to the base's <c>/etc/passwd</c> when it lacks one (it is over 1 MiB, or not a
    /// regular file), or null when it can be, or the base has it.
    /// </summary>
    public static string? WhyAppCannotBeAdded(BaseRoot root) => root.Passwd switch
    {
        null => null,
        { Content: not null } => null,
        { TooLarge: true } => $"its /etc/passwd is over {BaseRoot.MaxFileSize / (1 << 20)} MiB, more than this package reads",
        _ => "its /etc/passwd is not a regular file (a symlink or a device), which this package cannot extend",
    };

    /// <summary>Adds the file (whole when the base has none, the base's with <paramref name="line"/> appended when it lacks the app entry); true when app was added.</summary>
    private static bool Extend(List<LayerEntry> entries, string path, BaseFile? existing, string whole, string line)
    {
        if (existing is null)
        {
            entries.Add(new InlineFileEntry(path, UnixModes.Regular, Encoding.ASCII.GetBytes(whole)));
            return true;
        }

        if (existing.Content is not { } content || HasApp(Encoding.UTF8.GetString(content)))
        {
            return false;
        }

        // The base's bytes as they are (whatever their encoding), then the line.
        var separator = content.Length == 0 || content[^1] == (byte)'\n' ? string.Empty : "\n";
        entries.Add(new InlineFileEntry(path, existing.Mode, (byte[])[.. content, .. Encoding.ASCII.GetBytes(separator + line)]));
        return true;
    }

    /// <summary>Whether a passwd or group file has an entry named app, or with the app id.</summary>
    private static bool HasApp(string file) => file.Split('\n').Select(l => l.Split(':')).Any(fields =>
        fields[0] == AppUser || (fields.Length > 2 && fields[2] == AppUid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}

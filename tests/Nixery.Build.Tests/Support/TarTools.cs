using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Nixery.Build.Tests.Support;

/// <summary>A member as Python's <c>tarfile</c> reads it (PAX records applied).</summary>
public sealed record PythonTarMember(string Name, char Type, int Mode, long UserId, long GroupId, string UserName, string GroupName, long ModificationTime, long Size, string LinkName, IReadOnlyDictionary<string, string> PaxHeaders, string? ContentHex);

/// <summary>A line of <c>tar --list --verbose</c> from GNU tar.</summary>
public sealed record GnuTarMember(string Permissions, string Owner, long Size, string Time, string Name, string? LinkTarget);

/// <summary>Independent readers for the tars the writers produce: Python's tarfile and GNU tar.</summary>
public static partial class TarTools
{
    private const string PythonLister = """
        import json, sys, tarfile
        members = []
        with tarfile.open(sys.argv[1], 'r:', encoding='utf-8', errors='strict') as archive:
            for m in archive.getmembers():
                content = archive.extractfile(m).read().hex() if m.isfile() else None
                members.append({'name': m.name, 'type': m.type.decode('ascii'), 'mode': m.mode, 'uid': m.uid, 'gid': m.gid,
                                'uname': m.uname, 'gname': m.gname, 'mtime': int(m.mtime), 'size': m.size,
                                'linkname': m.linkname, 'pax': m.pax_headers, 'content': content})
        print(json.dumps(members))
        """;

    /// <summary>The members as Python's tarfile reads them. Note: tarfile drops a directory's trailing '/'.</summary>
    public static List<PythonTarMember> ListWithPython(string tarPath)
    {
        var json = ExternalTool.RunChecked("python3", "-c", PythonLister, tarPath);
        using var document = JsonDocument.Parse(json);
        return document.RootElement.EnumerateArray().Select(m => new PythonTarMember(
            m.GetProperty("name").GetString()!,
            m.GetProperty("type").GetString()![0],
            m.GetProperty("mode").GetInt32(),
            m.GetProperty("uid").GetInt64(),
            m.GetProperty("gid").GetInt64(),
            m.GetProperty("uname").GetString()!,
            m.GetProperty("gname").GetString()!,
            m.GetProperty("mtime").GetInt64(),
            m.GetProperty("size").GetInt64(),
            m.GetProperty("linkname").GetString()!,
            m.GetProperty("pax").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal),
            m.GetProperty("content").GetString())).ToList();
    }

    /// <summary>The members as GNU tar lists them (numeric owners, full UTC times).</summary>
    public static List<GnuTarMember> ListWithGnuTar(string tarPath)
    {
        var result = ExternalTool.Run("tar", "--list", "--verbose", "--numeric-owner", "--full-time", "--quoting-style=literal", "-f", tarPath);
        Assert.True(result.ExitCode == 0 && result.StandardError.Length == 0, $"GNU tar: exit {result.ExitCode}, stderr: {result.StandardError}");
        return result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(ParseGnuLine).ToList();
    }

    /// <summary>Extracts with GNU tar into <paramref name="destination"/>, failing on any complaint.</summary>
    public static void ExtractWithGnuTar(string tarPath, string destination)
    {
        var result = ExternalTool.Run("tar", "--extract", "--numeric-owner", "-f", tarPath, "-C", destination);
        Assert.True(result.ExitCode == 0 && result.StandardError.Length == 0, $"GNU tar: exit {result.ExitCode}, stderr: {result.StandardError}");
    }

    private static GnuTarMember ParseGnuLine(string line)
    {
        var match = GnuLine().Match(line);
        Assert.True(match.Success, $"unexpected GNU tar line: {line}");
        var name = match.Groups["name"].Value;
        string? target = null;
        if (match.Groups["perm"].Value.StartsWith('l'))
        {
            var arrow = name.IndexOf(" -> ", StringComparison.Ordinal);
            target = name[(arrow + 4)..];
            name = name[..arrow];
        }

        return new GnuTarMember(
            match.Groups["perm"].Value,
            match.Groups["owner"].Value,
            long.Parse(match.Groups["size"].Value, CultureInfo.InvariantCulture),
            match.Groups["time"].Value,
            name,
            target);
    }

    [GeneratedRegex("^(?<perm>\\S{10}) (?<owner>\\S+) +(?<size>\\d+) (?<time>\\S+ \\S+) (?<name>.*)\\z", RegexOptions.CultureInvariant)]
    private static partial Regex GnuLine();
}

using System.Text.Json;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// An image as the real tools see it: skopeo reads it (from an archive, or copied out of a registry into an OCI
/// layout), umoci unpacks it, bwrap runs it.
/// </summary>
public sealed class ImageReader : IDisposable
{
    private readonly TempDirectory _work = new("nixery-image");

    /// <summary>The copied OCI layout (<c>oci:dir:image</c>) when the image came from a registry; else null.</summary>
    private readonly string? _layout;

    /// <summary>The image's name in <see cref="_layout"/>.</summary>
    private readonly string _tag = "image";

    /// <summary>skopeo's choice of image in an index: <c>--override-arch</c> for another architecture than this machine's.</summary>
    private readonly string[] _platform = [];

    /// <param name="architecture">The OCI architecture to read from an image index (arm64, amd64); null: this machine's.</param>
    public ImageReader(string archivePath, string? architecture = null)
    {
        ArchivePath = archivePath;
        _platform = architecture is null ? [] : ["--override-arch", architecture];
        Assert.True(File.Exists(archivePath), $"No image archive at {archivePath}");
    }

    private ImageReader(string reference, IReadOnlyList<string> skopeoOptions, string? architecture)
    {
        ArchivePath = string.Empty;
        _platform = architecture is null ? [] : ["--override-arch", architecture];
        _layout = Path.Combine(_work.Path, "layout");
        var copy = Command.Run("skopeo", [.. _platform, "copy", "--quiet", .. skopeoOptions, $"docker://{reference}", $"oci:{_layout}:image"]);
        Assert.True(copy.ExitCode == 0, $"skopeo could not copy {reference} out of the registry:\n{copy.Output}");
    }

    /// <summary>Reads the image <paramref name="tag"/> of an OCI layout folder in place (<c>oci:DIR:TAG</c>).</summary>
    private ImageReader(string layout, string tag, bool inPlace)
    {
        Assert.True(inPlace);
        ArchivePath = string.Empty;
        _layout = layout;
        _tag = tag;
    }

    public static ImageReader FromLayout(string layout, string tag) => new(layout, tag, inPlace: true);

    /// <summary>Copies <paramref name="reference"/> (<c>host:port/repo:tag</c>) out of a registry with skopeo (give it --src-tls-verify, --src-cert-dir, --src-creds).</summary>
    public static ImageReader FromRegistry(string reference, params string[] skopeoOptions) => new(reference, skopeoOptions, architecture: null);

    /// <summary>As <see cref="FromRegistry(string, string[])"/>, taking the <paramref name="architecture"/> image of an index.</summary>
    public static ImageReader FromRegistryFor(string architecture, string reference, params string[] skopeoOptions) => new(reference, skopeoOptions, architecture);

    public string ArchivePath { get; }

    private string Source => _layout is null ? $"oci-archive:{ArchivePath}" : $"oci:{_layout}:{_tag}";

    /// <summary><c>skopeo inspect</c> through a transport (<c>oci-archive</c> or <c>docker-archive</c>; an image from a registry is read from its layout).</summary>
    public JsonElement Inspect(string transport = "oci-archive") =>
        Json(Command.Run("skopeo", [.. _platform, "inspect", _layout is null ? $"{transport}:{ArchivePath}" : Source]).EnsureSuccess().Output);

    /// <summary>The image configuration document (<c>skopeo inspect --config</c>).</summary>
    public JsonElement Config() =>
        Json(Command.Run("skopeo", [.. _platform, "inspect", "--config", Source]).EnsureSuccess().Output);

    /// <summary>The raw manifest (<c>skopeo inspect --raw</c>).</summary>
    public JsonElement Manifest() =>
        Json(Command.Run("skopeo", ["inspect", "--raw", Source]).EnsureSuccess().Output);

    /// <summary>Copies the image with skopeo into an OCI layout and unpacks it with umoci; returns the bundle folder.</summary>
    public string Unpack()
    {
        var layout = _layout ?? Path.Combine(_work.Path, "layout");
        var bundle = Path.Combine(_work.Path, "bundle");
        if (Directory.Exists(bundle))
        {
            return bundle;
        }

        if (_layout is null)
        {
            Command.Run("skopeo", [.. _platform, "copy", "--quiet", $"oci-archive:{ArchivePath}", $"oci:{layout}:image"]).EnsureSuccess();
        }

        // As root, umoci keeps the owners the layers give (the app user's home); otherwise everything is ours.
        string[] rootless = Environment.UserName == "root" ? [] : ["--rootless"];
        Command.Run("umoci", ["unpack", .. rootless, "--image", $"{layout}:{_tag}", bundle]).EnsureSuccess();
        // The image's own user must be able to reach its root folder.
        const UnixFileMode Traversable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(_work.Path, Traversable);
        File.SetUnixFileMode(bundle, Traversable);
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "proc"));
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "dev"));
        return bundle;
    }

    public string RootFileSystem => Path.Combine(Unpack(), "rootfs");

    /// <summary>
    /// Runs the image's entry point (or <paramref name="command"/>) with bubblewrap inside the unpacked root,
    /// as a container runtime would: the image's user (switched for real with setpriv, so file permissions
    /// are enforced), its environment (umoci adds HOME from /etc/passwd) and its working directory.
    /// </summary>
    public CommandResult Run(IReadOnlyList<string>? command = null, IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        var (fileName, arguments) = BwrapCommand(command, extraEnvironment);
        return Command.Run(fileName, arguments, timeout: TimeSpan.FromMinutes(2));
    }

    /// <summary>Starts the entry point in the background (a server); dispose the result to stop it.</summary>
    public BackgroundProcess Start(IReadOnlyDictionary<string, string>? extraEnvironment = null)
    {
        var (fileName, arguments) = BwrapCommand(null, extraEnvironment);
        return BackgroundProcess.Start(fileName, arguments);
    }

    /// <summary>The uid and gid the image runs as (from the runtime spec umoci generated).</summary>
    public (int Uid, int Gid) User
    {
        get
        {
            var user = Json(File.ReadAllText(Path.Combine(Unpack(), "config.json"))).GetProperty("process").GetProperty("user");
            return (user.GetProperty("uid").GetInt32(), user.GetProperty("gid").GetInt32());
        }
    }

    private (string FileName, List<string> Arguments) BwrapCommand(IReadOnlyList<string>? command, IReadOnlyDictionary<string, string>? extraEnvironment)
    {
        var bundle = Unpack();
        var spec = Json(File.ReadAllText(Path.Combine(bundle, "config.json"))).GetProperty("process");
        var (uid, gid) = User;
        var arguments = new List<string>();
        if (uid != 0)
        {
            arguments.AddRange(["setpriv", $"--reuid={uid}", $"--regid={gid}", "--clear-groups", "bwrap", "--unshare-user", "--uid", $"{uid}", "--gid", $"{gid}"]);
        }
        else
        {
            arguments.Add("bwrap");
        }

        arguments.AddRange(["--bind", Path.Combine(bundle, "rootfs"), "/", "--proc", "/proc", "--dev", "/dev"]);
        arguments.AddRange(["--chdir", spec.GetProperty("cwd").GetString()!, "--clearenv"]);
        foreach (var variable in spec.GetProperty("env").EnumerateArray().Select(e => e.GetString()!))
        {
            var equals = variable.IndexOf('=', StringComparison.Ordinal);
            arguments.AddRange(["--setenv", variable[..equals], variable[(equals + 1)..]]);
        }

        foreach (var (name, value) in extraEnvironment ?? new Dictionary<string, string>())
        {
            arguments.AddRange(["--setenv", name, value]);
        }

        arguments.Add("--");
        arguments.AddRange(command ?? spec.GetProperty("args").EnumerateArray().Select(a => a.GetString()!).ToList());
        return (arguments[0], arguments[1..]);
    }

    public void Dispose() => _work.Dispose();

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();
}

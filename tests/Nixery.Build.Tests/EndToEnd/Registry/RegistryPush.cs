using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd.Registry;

/// <summary>Publishing a sample with ContainerRegistry set, isolated from the machine's own credentials, and counting what the registry saw.</summary>
public static class RegistryPush
{
    /// <summary>
    /// <c>dotnet publish -r linux-x64</c> pushing to <paramref name="registry"/>. Docker's and Podman's credential files
    /// point into the project's temp folder (empty unless a test writes them), and the credential variables are
    /// unset unless <paramref name="environment"/> sets them.
    /// </summary>
    /// <summary>For tests that count the image's own blobs and manifests: no SBOM referrers on top.</summary>
    public const string NoSbom = "-p:NixImageSbom=none";

    public static CommandResult Publish(
        SampleProject project,
        string registry,
        string repository,
        IEnumerable<string>? extraArguments = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        bool binaryLog = true)
    {
        var arguments = new List<string>
        {
            "-r", "linux-x64",
            "-p:ContainerRegistry=" + registry,
            "-p:ContainerRepository=" + repository,
        };
        arguments.AddRange(extraArguments ?? []);
        var env = IsolatedEnvironment(project);
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            env[name] = value;
        }

        return project.Publish(arguments, env, binaryLog);
    }

    /// <summary>
    /// The environment of a push that sees none of the machine's credentials or trust settings: Docker's and Podman's
    /// credential files point into the project's temp folder, the credential and certificate variables are unset.
    /// </summary>
    public static Dictionary<string, string?> IsolatedEnvironment(SampleProject project) => new()
    {
        ["DOCKER_CONFIG"] = DockerConfigDirectory(project),
        ["REGISTRY_AUTH_FILE"] = Path.Combine(project.Root, "podman-auth.json"),
        ["DOTNET_CONTAINER_REGISTRY_UNAME"] = null,
        ["DOTNET_CONTAINER_REGISTRY_PWORD"] = null,
        ["DOTNET_CONTAINER_INSECURE_REGISTRIES"] = null,
        ["SSL_CERT_FILE"] = null,
        ["SSL_CERT_DIR"] = null,
    };

    /// <summary>The NixImageCacheDirectory of the project's pushes (where mounts are remembered): the project's own.</summary>
    public static string CacheDirectory(SampleProject project) => project.CacheDirectory;

    /// <summary>The DOCKER_CONFIG folder of the project's pushes; write config.json there to give credentials.</summary>
    public static string DockerConfigDirectory(SampleProject project)
    {
        var folder = Path.Combine(project.Root, "docker-config");
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>Blob uploads completed (<c>PUT …/blobs/uploads/…</c>, one per uploaded blob).</summary>
    public static int BlobUploads(this IEnumerable<AccessLogEntry> log) =>
        log.Count(e => e.Method == "PUT" && e.Path.Contains("/blobs/uploads/", StringComparison.Ordinal));

    public static int Patches(this IEnumerable<AccessLogEntry> log) =>
        log.Count(e => e.Method == "PATCH");

    /// <summary>Cross-repository mounts the registry performed (201 to <c>POST …?mount=…</c>).</summary>
    public static int Mounts(this IEnumerable<AccessLogEntry> log) =>
        log.Count(e => e.Method == "POST" && e.Path.Contains("mount=", StringComparison.Ordinal) && e.Status == 201);

    public static int ManifestPuts(this IEnumerable<AccessLogEntry> log) =>
        log.Count(e => e.Method == "PUT" && e.Path.Contains("/manifests/", StringComparison.Ordinal));

    /// <summary>One line per method and path shape, for test output: "PUT /v2/app/blobs/uploads/… 201 ×2".</summary>
    public static string Summary(this IEnumerable<AccessLogEntry> log) =>
        string.Join('\n', log
            .Select(e => $"{e.Method} {Shape(e.Path)} {e.Status}")
            .GroupBy(l => l, StringComparer.Ordinal)
            .Select(g => $"{g.Count(),3} × {g.Key}"));

    private static string Shape(string path)
    {
        var query = path.IndexOf('?', StringComparison.Ordinal);
        var bare = query < 0 ? path : path[..query];
        var mount = path.Contains("mount=", StringComparison.Ordinal) ? "?mount=…&from=…" : string.Empty;
        var digest = path.Contains("digest=", StringComparison.Ordinal) ? "?digest=…" : string.Empty;
        var parts = bare.Split('/');
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i].StartsWith("sha256:", StringComparison.Ordinal) || (i > 0 && parts[i - 1] == "uploads" && parts[i].Length > 0))
            {
                parts[i] = "…";
            }
        }

        return string.Join('/', parts) + mount + digest;
    }
}

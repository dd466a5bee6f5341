namespace Nixery.Build.Registry;

/// <summary>
/// Registries that may be reached over plain HTTP and whose TLS certificate is not checked: those named in
/// <c>DOTNET_CONTAINER_INSECURE_REGISTRIES</c> (comma-separated, as the .NET SDK reads it) and in the
/// <c>ContainerInsecureRegistries</c> property (semicolon-separated). An entry without a port matches the host
/// on any port. Registries on this machine (<see cref="RegistryHost.IsLoopback"/>) may use plain HTTP without
/// being listed, but their certificates are checked like any other when they speak TLS.
/// </summary>
public sealed class InsecureRegistries
{
    public const string EnvironmentVariable = "DOTNET_CONTAINER_INSECURE_REGISTRIES";

    private readonly List<RegistryHost> _entries;

    private InsecureRegistries(List<RegistryHost> entries) => _entries = entries;

    public static InsecureRegistries None { get; } = new([]);

    public IReadOnlyList<RegistryHost> Entries => _entries;

    public static InsecureRegistries Parse(string? environmentValue, string? propertyValue)
    {
        var entries = new List<RegistryHost>();
        foreach (var (value, separator, setting) in new[] { (environmentValue, ',', EnvironmentVariable), (propertyValue, ';', "ContainerInsecureRegistries") })
        {
            foreach (var entry in (value ?? string.Empty).Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                entries.Add(RegistryHost.Parse(entry, $"The {setting} entry"));
            }
        }

        return new InsecureRegistries(entries);
    }

    /// <summary>Whether the registry is listed (exactly, or by host when the entry has no port).</summary>
    public bool IsListed(RegistryHost registry) =>
        _entries.Exists(e => e.Host == registry.Host && (e.Port is null || e.Port == registry.Port));

    /// <summary>Whether plain HTTP may be used: listed, or on this machine.</summary>
    public bool AllowsHttp(RegistryHost registry) => registry.IsLoopback || IsListed(registry);

    /// <summary>Whether a certificate the system does not trust is accepted: only for listed registries.</summary>
    public bool SkipsCertificateCheck(RegistryHost registry) => IsListed(registry);

    /// <summary>Whether a token service at <paramref name="realm"/> may be asked over plain HTTP.</summary>
    public bool AllowsHttpRealm(Uri realm) =>
        RegistryHost.TryParse(realm.Authority, out var host) && AllowsHttp(host);
}

using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;

namespace Nixery.Build.Pipeline;

/// <summary>The runtime settings of the image (the config's <c>config</c> object) from the request and the realised packages.</summary>
public static class ContainerConfiguration
{
    public static ContainerSettings Settings(ImageRequest request, RuntimeClosure closure)
    {
        var env = Environment(request, closure);
        return new ContainerSettings
        {
            User = request.User,
            ExposedPorts = [.. request.Ports, .. ImageSettings.PortsFromEnvironment(env)],
            Env = env.Select(e => $"{e.Key}={e.Value}").ToList(),
            Entrypoint = request.Entrypoint,
            Cmd = request.Command,
            WorkingDir = request.WorkingDirectory,
            Labels = Labels(request),
        };
    }

    /// <summary>
    /// The image's environment: what the SDK's .NET images set (APP_UID, DOTNET_RUNNING_IN_CONTAINER,
    /// ASPNETCORE_HTTP_PORTS for ASP.NET apps), what a Nix image needs (PATH, SSL_CERT_FILE, DOTNET_ROOT),
    /// then the project's ContainerEnvironmentVariable items, which override defaults of the same name.
    /// </summary>
    internal static List<KeyValuePair<string, string>> Environment(ImageRequest request, RuntimeClosure closure)
    {
        var env = new List<KeyValuePair<string, string>>
        {
            new("PATH", ImageDefaults.Path),
            new("SSL_CERT_FILE", ImageDefaults.CertificateBundle),
        };
        if (request.DotnetRuntimePackage is { } runtime)
        {
            var package = closure.Packages.First(p => p.Name == runtime);
            env.Add(new("DOTNET_ROOT", DotnetRoot.Find(package)));
        }

        env.Add(new("APP_UID", UserDatabase.AppUid.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        env.Add(new("DOTNET_RUNNING_IN_CONTAINER", "true"));
        if (request.IsAspNet && !request.Environment.Any(e => e.Key is "ASPNETCORE_URLS" or "ASPNETCORE_HTTP_PORTS" or "ASPNETCORE_HTTPS_PORTS"))
        {
            env.Add(new("ASPNETCORE_HTTP_PORTS", "8080"));
        }

        foreach (var (name, value) in request.Environment)
        {
            var existing = env.FindIndex(e => e.Key == name);
            if (existing >= 0)
            {
                env[existing] = new(name, value);
            }
            else
            {
                env.Add(new(name, value));
            }
        }

        return env;
    }

    private static Dictionary<string, string> Labels(ImageRequest request)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in request.Labels)
        {
            labels[key] = value;
        }

        return labels;
    }
}

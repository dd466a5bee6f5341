using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Sources;

namespace Nixery.Build.Image;

/// <summary>The runtime settings of the image (the config's <c>config</c> object) from the request and the realised packages.</summary>
public static class ContainerConfiguration
{
    /// <summary>
    /// On a base image, the base's settings merged with ours as the .NET SDK merges them: the base's environment then
    /// ours (ours wins by name; PATH gets the Nix profile's <c>bin</c> in front of the base's), the base's labels and
    /// ports then ours, the project's user, working folder and entry point where set, else the base's; settings this
    /// package does not set (Volumes, StopSignal, ...) kept.
    /// </summary>
    public static ContainerSettings Settings(ImageRequest request, RuntimeClosure closure, IStoreView store, BaseImage? baseImage = null)
    {
        var env = Environment(request, closure, store, baseImage?.Config);
        var from = baseImage?.Config;
        var ownCommand = request.Entrypoint.Count > 0 || request.Command.Count > 0;
        return new ContainerSettings
        {
            User = request.User ?? from?.User ?? ImageRequestFactory.DefaultUser,
            ExposedPorts = [.. from?.ExposedPorts ?? [], .. request.Ports, .. ImageSettings.PortsFromEnvironment(env)],
            Env = env.Select(e => $"{e.Key}={e.Value}").ToList(),
            Entrypoint = ownCommand || from is null ? request.Entrypoint : from.Entrypoint,
            Cmd = ownCommand || from is null ? request.Command : from.Cmd,
            WorkingDir = request.WorkingDirectory,
            Labels = Labels(request, baseImage),
            Carried = from?.Carried ?? new Dictionary<string, string>(),
        };
    }

    /// <summary>
    /// The base's history entries, when they account for its layers (one entry without <c>empty_layer</c> per layer);
    /// else none, and each base layer gets an entry of its own, as this package's layers do.
    /// </summary>
    public static IReadOnlyList<string> BaseHistory(BaseImage baseImage)
    {
        var layered = baseImage.Config.History.Count(entry =>
        {
            using var document = System.Text.Json.JsonDocument.Parse(entry);
            return !(document.RootElement.TryGetProperty("empty_layer", out var empty) && empty.ValueKind == System.Text.Json.JsonValueKind.True);
        });
        return layered == baseImage.Layers.Count ? baseImage.Config.History : [];
    }

    /// <summary>
    /// The image's environment: what the SDK's .NET images set (APP_UID, DOTNET_RUNNING_IN_CONTAINER,
    /// ASPNETCORE_HTTP_PORTS for ASP.NET apps), what a Nix image needs (PATH, SSL_CERT_FILE, DOTNET_ROOT),
    /// then the project's ContainerEnvironmentVariable items, which override defaults of the same name.
    /// </summary>
    internal static List<KeyValuePair<string, string>> Environment(ImageRequest request, RuntimeClosure closure, IStoreView store, BaseImageConfig? from = null)
    {
        var env = new List<KeyValuePair<string, string>>();
        if (from is null)
        {
            env.Add(new("PATH", ImageDefaults.Path));
            env.Add(new("SSL_CERT_FILE", ImageDefaults.CertificateBundle));
        }
        else
        {
            foreach (var entry in from.Env)
            {
                var equals = entry.IndexOf('=', StringComparison.Ordinal);
                Set(env, equals < 0 ? entry : entry[..equals], equals < 0 ? string.Empty : entry[(equals + 1)..]);
            }

            var basePath = env.FirstOrDefault(e => e.Key == "PATH").Value;
            Set(env, "PATH", SymlinkLayer.ProfilePath + "/bin:" + (string.IsNullOrEmpty(basePath) ? ImageDefaults.Path : basePath));
            Set(env, "SSL_CERT_FILE", SymlinkLayer.ProfilePath + ImageDefaults.CertificateBundle);
        }

        if (request.DotnetRuntimePackage is { } runtime)
        {
            var package = closure.Packages.First(p => p.Name == runtime && p.Output == PackageOutput.Default);
            env.Add(new("DOTNET_ROOT", DotnetRoot.Find(package, store)));
        }

        if (from?.Env.Any(e => e.StartsWith("APP_UID=", StringComparison.Ordinal)) != true)
        {
            Set(env, "APP_UID", UserDatabase.AppUid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Set(env, "DOTNET_RUNNING_IN_CONTAINER", "true");
        if (request.IsAspNet && !request.Environment.Any(e => e.Key is "ASPNETCORE_URLS" or "ASPNETCORE_HTTP_PORTS" or "ASPNETCORE_HTTPS_PORTS")
            && !env.Any(e => e.Key is "ASPNETCORE_URLS" or "ASPNETCORE_HTTP_PORTS" or "ASPNETCORE_HTTPS_PORTS"))
        {
            Set(env, "ASPNETCORE_HTTP_PORTS", "8080");
        }

        foreach (var (name, value) in request.Environment)
        {
            Set(env, name, value);
        }

        return env;
    }

    /// <summary>Sets a variable: in its place when it is there, else at the end.</summary>
    private static void Set(List<KeyValuePair<string, string>> env, string name, string value)
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

    /// <summary>The base's labels, then the base's name and digest (as the SDK writes them), then the project's (a later key wins).</summary>
    private static Dictionary<string, string> Labels(ImageRequest request, BaseImage? baseImage)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (baseImage is not null)
        {
            foreach (var (key, value) in baseImage.Config.Labels)
            {
                labels[key] = value;
            }

            if (request.BaseImageLabels)
            {
                labels["org.opencontainers.image.base.name"] = baseImage.Reference;
                labels["org.opencontainers.image.base.digest"] = baseImage.ResolvedDigest.Value;
            }
        }

        foreach (var (key, value) in request.Labels)
        {
            labels[key] = value;
        }

        return labels;
    }
}

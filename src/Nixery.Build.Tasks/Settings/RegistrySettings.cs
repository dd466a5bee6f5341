using System.Globalization;
using Nixery.Build.Diagnostics;
using Nixery.Build.Registry;

namespace Nixery.Build.Settings;

/// <summary>Where to push: ContainerRegistry, ContainerInsecureRegistries and NixImageRegistryTimeout, as the user wrote them.</summary>
public sealed record RegistrySettings(string Registry, string? InsecureRegistries, string? Timeout)
{
    /// <summary>
    /// The registry settings, parsed and checked (coded errors): ContainerRegistry, the insecure lists (the property
    /// and DOTNET_CONTAINER_INSECURE_REGISTRIES) and the timeout. The request factory checks them with this too.
    /// </summary>
    public (RegistryHost Registry, InsecureRegistries Insecure, TimeSpan Timeout) Check(string? insecureRegistriesVariable) =>
        (RegistryHost.Parse(Registry.Trim()), Nixery.Build.Registry.InsecureRegistries.Parse(insecureRegistriesVariable, InsecureRegistries), TimeoutOf(Timeout));

    /// <summary>NixImageRegistryTimeout: whole seconds from 1 to 3600; empty for the default (30 s).</summary>
    public static TimeSpan TimeoutOf(string? seconds)
    {
        if (string.IsNullOrWhiteSpace(seconds))
        {
            return PushOptions.DefaultTimeout;
        }

        if (!int.TryParse(seconds.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value is < 1 or > 3600)
        {
            throw new NixImageException(
                ErrorCodes.InvalidRegistryTimeout,
                $"NixImageRegistryTimeout '{seconds}' is not a number of seconds from 1 to 3600. Set it to how long the registry may take to accept a connection, or go without progress (e.g. 120 on a slow link), or remove it for 30.");
        }

        return TimeSpan.FromSeconds(value);
    }
}

/// <summary>How to reach a base image's registry: ContainerInsecureRegistries and NixImageRegistryTimeout, as the user wrote them.</summary>
public sealed record PullSettings(string? InsecureRegistries, string? Timeout);

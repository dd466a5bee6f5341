using Nixery.Build.Diagnostics;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Settings;
using Nixery.Build.Sources;

namespace Nixery.Build.Image;

/// <summary>
/// Whether the app could start on the image's .NET runtime, decided before any layer is written: each framework its
/// runtimeconfig.json asks for, resolved as the .NET host would resolve it (<see cref="FrameworkResolution"/>) against
/// the <c>shared/&lt;framework&gt;/&lt;version&gt;</c> folders of the Nix runtime's root (<see cref="DotnetRoot"/>),
/// read through the store view (the Nix store, or the NARs of a build without Nix).
/// </summary>
public static class RuntimeFrameworkCheck
{
    public static void Check(ImageRequest request, RuntimeClosure closure, IStoreView store, IBuildLog log, BaseImage? baseImage = null)
    {
        var fileName = (request.AppName ?? string.Empty) + ".runtimeconfig.json";
        var path = Path.Combine(request.PublishDirectory, fileName);
        if (string.IsNullOrEmpty(request.AppName) || !File.Exists(path))
        {
            log.Detail($"runtime: no {fileName} in the publish folder, so the frameworks the app needs are not checked");
            return;
        }

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in ContainerConfiguration.Environment(request, closure, store, baseImage?.Config))
        {
            environment[name] = value;
        }

        var config = RuntimeConfig.Parse(File.ReadAllText(path), fileName, environment);
        if (config.IsSelfContained)
        {
            log.Detail($"runtime: {fileName} names no framework (a self-contained app), nothing to check");
            return;
        }

        var asked = string.Join(", ", config.Frameworks.Select(f => $"{f.Name} {f.VersionText}"));
        if (request.DotnetRuntimePackage is not { } runtime)
        {
            log.Info(baseImage is not null
                ? $"Nixery.Build: the app needs {asked}, which the base image '{baseImage.Reference}' is to provide (NixDotnetRuntimePackage is none); whether it can start on that runtime is not checked."
                : $"Nixery.Build: the app needs {asked}, and NixDotnetRuntimePackage is none; whether a runtime in the image can start it is not checked.");
            return;
        }

        var package = closure.Packages.First(p => p.Name == runtime && p.Output == PackageOutput.Default);
        var root = DotnetRoot.Find(package, store);
        var failures = new List<string>();
        foreach (var framework in config.Frameworks)
        {
            var installed = Installed(store, root, framework.Name);
            var chosen = FrameworkResolution.Resolve(framework, installed);
            if (chosen is not null)
            {
                log.Detail($"runtime: {framework.Name} {framework.VersionText} ({framework.RollForward}, {framework.PolicySource}) resolves to {chosen} in {root}");
                continue;
            }

            failures.Add(Describe(framework, installed, runtime));
        }

        if (failures.Count > 0)
        {
            throw new NixImageException(
                ErrorCodes.RuntimeFrameworkMissing,
                $"The app could not start in the image: {string.Join(" ", failures)} "
                + $"(The .NET host would stop with \"You must install or update .NET to run this application\"; {root}/shared holds {Inventory(store, root)}.)");
        }
    }

    /// <summary>The version folders of one framework (symlinks to folders count, as the host follows them), in name order.</summary>
    internal static List<string> Installed(IStoreView store, string root, string framework) =>
        store.Children(root + "/shared/" + framework)
            .Where(c => store.IsFolder(c.Path))
            .Select(c => c.Name)
            .ToList();

    private static string Inventory(IStoreView store, string root)
    {
        var frameworks = store.Children(root + "/shared").Where(c => store.IsFolder(c.Path))
            .Select(c => $"{c.Name} {string.Join(", ", Installed(store, root, c.Name))}")
            .ToList();
        return frameworks.Count == 0 ? "no framework" : string.Join("; ", frameworks);
    }

    /// <summary>One framework that does not resolve: what is asked, under which policy, what the image has, and what would do.</summary>
    private static string Describe(FrameworkReference framework, List<string> installed, string runtime)
    {
        var asked = $"it asks for {framework.Name} {framework.VersionText} with roll-forward policy {framework.RollForward} ({framework.PolicySource})";
        if (installed.Count == 0)
        {
            return $"{asked}, and the runtime package '{runtime}' has no {framework.Name} at all. "
                + (framework.Name == "Microsoft.AspNetCore.App"
                    ? $"Set NixDotnetRuntimePackage to an ASP.NET Core runtime (dotnetCorePackages.aspnetcore_{framework.Version.Major}_{framework.Version.Minor}), or leave it unset to get one for an ASP.NET app."
                    : $"Set NixDotnetRuntimePackage to a package that has {framework.Name}.");
        }

        var has = $"{asked}, and the runtime package '{runtime}' has {framework.Name} {string.Join(", ", installed)}.";
        var policies = Enum.GetValues<RollForward>()
            .Where(p => p > framework.RollForward)
            .Select(p => (Policy: p, Chosen: FrameworkResolution.Resolve(framework with { RollForward = p, ApplyPatches = true }, installed)))
            .Where(p => p.Chosen is not null)
            .ToList();
        if (policies.Count > 0)
        {
            var (policy, chosen) = policies[0];
            var where = framework.PolicySource.StartsWith(RuntimeConfig.RollForwardVariable + " ", StringComparison.Ordinal)
                ? $"Set the ContainerEnvironmentVariable {RuntimeConfig.RollForwardVariable} to {policy} (or a more permissive policy), or remove it"
                : $"Set RollForward to {policy} (or a more permissive policy) in the project";
            return $"{has} {where}, and {chosen} would be used; "
                + $"or use a package set or NixDotnetRuntimePackage whose runtime has {framework.Name} {framework.VersionText} itself.";
        }

        return $"{has} It needs a newer runtime than the image has: use a package set (NixPkgsChannel, NixPkgsPath) or NixDotnetRuntimePackage with {framework.Name} {framework.VersionText} or later, "
            + "or ask for a lower version (RuntimeFrameworkVersion, or TargetFramework).";
    }
}

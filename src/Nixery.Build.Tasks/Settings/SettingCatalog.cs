using System.Globalization;
using Nixery.Build.Oci;

namespace Nixery.Build.Settings;

/// <summary>Whether the targets hand a setting over as a property or as items.</summary>
public enum SettingShape
{
    /// <summary>An MSBuild property: one string.</summary>
    Property,

    /// <summary>MSBuild items: their item specs, and for some the one metadata value that matters.</summary>
    Item,
}

/// <summary>A setting's value as the targets handed it over: a property's text, or the items' specs and metadata.</summary>
public sealed record SettingValue(string? Text, IReadOnlyList<string> Specs, IReadOnlyList<KeyValuePair<string, string>> Pairs)
{
    public static readonly SettingValue Empty = new(null, [], []);
}

/// <summary>One value handed back to MSBuild (ComputeNixImageProperties): a property's text, or an item with metadata.</summary>
public sealed record ResolvedItem(string Spec, IReadOnlyList<KeyValuePair<string, string>> Metadata)
{
    public static ResolvedItem Of(string spec, params (string Name, string Value)[] metadata) =>
        new(spec, metadata.Select(m => new KeyValuePair<string, string>(m.Name, m.Value)).ToList());
}

/// <summary>
/// One setting, declared once: the MSBuild property or item the targets read (<see cref="Name"/>), its shape, how
/// its value fills <see cref="ImageInputs"/>, what ComputeNixImageProperties sets back (<see cref="Resolve"/>), and
/// the default docs/configuration.md shows. The factory (<see cref="ImageRequestFactory"/>) holds the default's
/// value and the check. The targets' parameter list, the resolved outputs and the docs' defaults table follow from
/// these declarations, and <c>SettingCatalogTests</c> keeps them in agreement.
/// </summary>
public sealed record SettingDeclaration
{
    /// <summary>The MSBuild property or item name the targets read (or write, for an output only).</summary>
    public required string Name { get; init; }

    public required SettingShape Shape { get; init; }

    /// <summary>For items read as pairs: the metadata that holds each item's value (<c>Type</c>, <c>Value</c>).</summary>
    public string? Metadata { get; init; }

    /// <summary>How the value fills <see cref="ImageInputs"/>; null for an output only.</summary>
    public Func<ImageInputs, SettingValue, ImageInputs>? Apply { get; init; }

    /// <summary>What ComputeNixImageProperties sets back into <see cref="Name"/>; null when nothing is.</summary>
    public Func<ResolvedRequest, IReadOnlyList<ResolvedItem>>? Resolve { get; init; }

    /// <summary>Set back only when the project gave no value (an MSBuild condition on the output).</summary>
    public bool ResolveOnlyWhenEmpty { get; init; }

    /// <summary>The default as docs/configuration.md's table writes it; null: the setting has no row there.</summary>
    public string? DocumentedDefault { get; init; }

    /// <summary>The property the docs' row names the resolved value under, when it is not <see cref="Name"/>.</summary>
    public string? ShownAs { get; init; }
}

/// <summary>Every setting of the image step, in the order the targets hand them over.</summary>
public static class SettingCatalog
{
    public static readonly IReadOnlyList<SettingDeclaration> All =
    [
        Property("_NixImagePublishDir", (i, v) => i with { PublishDirectory = v.Text ?? string.Empty }),
        Property("MSBuildProjectDirectory", (i, v) => i with { ProjectDirectory = v.Text ?? string.Empty }),
        Property("_NixImageIntermediateDir", (i, v) => i with { IntermediateDirectory = v.Text ?? string.Empty }),
        Property("_NixImageDefaultArchiveDir", (i, v) => i with { DefaultArchiveDirectory = v.Text ?? string.Empty }),
        Property("AssemblyName", (i, v) => i with { AssemblyName = v.Text ?? string.Empty }),
        Item("NixPackage", (i, v) => i with { Packages = v.Specs }),
        Property("NixDefaultPackages", (i, v) => i with { DefaultPackages = v.Text }, documentedDefault: "`cacert;iana-etc`", resolved: r => DefaultPackagesOf(r.Request)),
        Property("NixDotnetRuntimePackage", (i, v) => i with { DotnetRuntimePackage = v.Text }),
        Property("NixAppHostPackages", (i, v) => i with { AppHostPackages = v.Text }),
        Property("NixPkgsPath", (i, v) => i with { NixPkgsPath = v.Text }),
        Property("NixPkgsChannel", (i, v) => i with { NixPkgsChannel = v.Text }),
        Property("NixPkgsGitRepository", (i, v) => i with { NixPkgsGitRepository = v.Text }),
        Property("NixPkgsGitRevision", (i, v) => i with { NixPkgsGitRevision = v.Text }),
        Property("NixSystem", (i, v) => i with { NixSystem = v.Text }, resolved: r => r.Request.Platform.NixSystem),
        Property("RuntimeIdentifier", (i, v) => i with { RuntimeIdentifier = v.Text }),
        Property("NixLayerBudget", (i, v) => i with { LayerBudget = v.Text }, documentedDefault: "`94`", resolved: r => Number(r.Request.LayerBudget)),
        Property("NixPopularityFile", (i, v) => i with { PopularityFile = v.Text }, resolved: r => r.Request.PopularityFile),
        Property("_NixImageIsAspNet", (i, v) => i with { IsAspNet = v.Text }),
        Property("ContainerRepository", (i, v) => i with { Repository = v.Text }, resolved: r => r.Request.Repository),
        Property("ContainerImageTag", (i, v) => i with { ImageTag = v.Text }),
        Property("ContainerImageTags", (i, v) => i with { ImageTags = v.Text }, documentedDefault: "`latest` (when `ContainerImageTag` is empty too)", resolved: r => string.Join(';', r.Request.Tags)),
        Property("ContainerImageFormat", (i, v) => i with { ImageFormat = v.Text }, documentedDefault: "`OCI`", resolved: r => r.Request.Format == ImageFormat.Oci ? "OCI" : "Docker"),
        Property("ContainerArchiveOutputPath", (i, v) => i with { ArchiveOutputPath = v.Text }, documentedDefault: "`$(OutputPath)image/<repository>.tar`", shownAs: "NixImageArchiveFile"),
        Property("ContainerRegistry", (i, v) => i with { Registry = v.Text }),
        Property("ContainerInsecureRegistries", (i, v) => i with { InsecureRegistries = v.Text }),
        Property("DOTNET_CONTAINER_INSECURE_REGISTRIES", (i, v) => i with { InsecureRegistriesVariable = v.Text }),
        Property("NixImageRegistryTimeout", (i, v) => i with { RegistryTimeout = v.Text }),
        Property("NixImageOciLayoutPath", (i, v) => i with { OciLayoutPath = v.Text }, documentedDefault: "none", resolved: r => r.Request.OciLayoutPath),
        Property("LocalRegistry", (i, v) => i with { LocalRegistry = v.Text }),
        Property("ContainerBaseImage", (i, v) => i with { BaseImage = v.Text }, resolved: r => r.Request.BaseImage),
        Property("NixMode", (i, v) => i with { NixMode = v.Text }, documentedDefault: "`Auto` (Nix when `nix-store` is on `PATH`, else the lock file)", resolved: r => r.Request.NixMode.ToString()),
        Property("NixLockFile", (i, v) => i with { LockFile = v.Text }, documentedDefault: "`nix-image.lock.json` (in the project folder)", resolved: r => r.Request.LockFile),
        Property("NixBinaryCaches", (i, v) => i with { BinaryCaches = v.Text }, documentedDefault: "`https://cache.nixos.org`", resolved: r => string.Join(';', r.Request.BinaryCaches)),
        Property("NixTrustedPublicKeys", (i, v) => i with { TrustedPublicKeys = v.Text }, documentedDefault: "`cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=`", resolved: r => string.Join(';', r.Request.TrustedPublicKeys)),
        Property("PATH", (i, v) => i with { PathVariable = v.Text }),
        Property("ContainerWorkingDirectory", (i, v) => i with { WorkingDirectory = v.Text }, documentedDefault: "`/app`", resolved: r => r.Request.WorkingDirectory),
        Property("ContainerUser", (i, v) => i with { User = v.Text }, documentedDefault: "`1654` (the `app` user)", resolved: r => r.Request.User),
        Item("ContainerAppCommand", (i, v) => i with { AppCommand = v.Specs }) with
        {
            // The default app command, as the factory made it: what the entry point starts with.
            Resolve = r => [.. (r.Inputs.AppCommand.Count > 0 ? r.Inputs.AppCommand : ImageRequestFactory.DefaultAppCommand(r.Inputs, r.Request.WorkingDirectory, r.Request.BaseImage is not null)).Select(c => ResolvedItem.Of(c))],
            ResolveOnlyWhenEmpty = true,
        },
        Item("ContainerAppCommandArgs", (i, v) => i with { AppCommandArgs = v.Specs }),
        Item("ContainerDefaultArgs", (i, v) => i with { DefaultArgs = v.Specs }),
        Property("ContainerAppCommandInstruction", (i, v) => i with { AppCommandInstruction = v.Text }),
        Item("ContainerEntrypoint", (i, v) => i with { Entrypoint = v.Specs }),
        Item("ContainerEntrypointArgs", (i, v) => i with { EntrypointArgs = v.Specs }),
        Property("_NixImageAppHostFileName", (i, v) => i with { AppHostFileName = v.Text }),
        Property("TargetFileName", (i, v) => i with { AppFileName = v.Text }),
        Item("ContainerPort", "Type", (i, v) => i with { Ports = v.Pairs }),
        Item("ContainerEnvironmentVariable", "Value", (i, v) => i with { EnvironmentVariables = v.Pairs }),
        Item("ContainerLabel", "Value", (i, v) => i with { Labels = v.Pairs }),
        Property("ContainerGenerateLabels", (i, v) => i with { GenerateLabels = v.Text }),
        Property("ContainerGenerateLabelsImageCreated", (i, v) => i with { GenerateCreatedLabel = v.Text }),
        Property("NixImageCacheDirectory", (i, v) => i with { CacheDirectory = v.Text }, documentedDefault: "`$XDG_CACHE_HOME/nixery-build`, else `$HOME/.cache/nixery-build`", resolved: r => r.Request.CacheDirectory),
        Property("NixImageCacheMaxSize", (i, v) => i with { CacheMaxSize = v.Text }, documentedDefault: "`10GB` (10×10⁹ bytes)", resolved: r => Number(r.Request.CacheMaxSize)),
        Property("NixImageCompressionLevel", (i, v) => i with { CompressionLevel = v.Text }, documentedDefault: "`5` with gzip, `2` with zstd", resolved: r => Number(r.Request.CompressionLevel)),
        Property("NixImageLayerCompression", (i, v) => i with { LayerCompression = v.Text }, documentedDefault: "`gzip`", resolved: r => r.Request.LayerCompression.ToString().ToLowerInvariant()),
        Property("NixImageSbom", (i, v) => i with { Sbom = v.Text }, documentedDefault: "`CycloneDX;SPDX`", resolved: r => SbomFormatsOf(r.Request)),
        Property("ProjectAssetsFile", (i, v) => i with { AssetsFile = v.Text }),
        Property("TargetFramework", (i, v) => i with { TargetFramework = v.Text }),
        Property("Version", (i, v) => i with { Version = v.Text }),
        Property("_NixImageSourceDateEpoch", (i, v) => i with { SourceDateEpoch = v.Text }),
        Property("NIX_PATH", (i, v) => i with { NixPath = v.Text }),
        Property("XDG_CACHE_HOME", (i, v) => i with { XdgCacheHome = v.Text }),
        Property("HOME", (i, v) => i with { HomeDirectory = v.Text }),

        // What ComputeNixImageProperties adds besides the settings themselves.
        Output("NixImageArchiveFile", r => r.Request.ArchivePath),
        Output("NixImageWritesArchive", r => r.Request.WriteArchive ? "true" : "false"),
        Output("NixImageSummaryPath", r => r.Request.SummaryPath),
        Output("NixImageCreated", r => r.Request.Created.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
        ItemOutput("NixImageEntrypoint", r => [.. r.Request.Entrypoint.Select(e => ResolvedItem.Of(e))]),
        ItemOutput("NixImageCommand", r => [.. r.Request.Command.Select(c => ResolvedItem.Of(c))]),
        ItemOutput("NixImageResolvedPackage", r => [.. r.Request.Packages.Select(p => ResolvedItem.Of(p.Name, ("Origin", p.Origin)))]),
        ItemOutput("NixImageExposedPort", r => [.. r.Request.Ports.Select(p => ResolvedItem.Of(p))]),
        ItemOutput("NixImageResolvedLabel", r => [.. r.Request.Labels.Select(l => ResolvedItem.Of(l.Key, ("Value", l.Value)))]),
    ];

    /// <summary>The declaration of the setting MSBuild knows as <paramref name="name"/>, or null.</summary>
    public static SettingDeclaration? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>The inputs from what the targets handed over: each declared setting's value (absent: empty).</summary>
    /// <exception cref="InvalidOperationException">A value names no declared setting (the targets and this catalog disagree).</exception>
    public static ImageInputs Inputs(IReadOnlyDictionary<string, SettingValue> values)
    {
        var unknown = values.Keys.Where(k => Find(k)?.Apply is null).ToList();
        if (unknown.Count > 0)
        {
            throw new InvalidOperationException($"The targets hand over settings no declaration reads: {string.Join(", ", unknown)}.");
        }

        var inputs = new ImageInputs { ProjectDirectory = string.Empty, PublishDirectory = string.Empty, IntermediateDirectory = string.Empty, DefaultArchiveDirectory = string.Empty, AssemblyName = string.Empty };
        foreach (var declaration in All.Where(d => d.Apply is not null))
        {
            inputs = declaration.Apply!(inputs, values.GetValueOrDefault(declaration.Name, SettingValue.Empty));
        }

        return inputs;
    }

    /// <summary>Every value ComputeNixImageProperties sets back, by the property or item it goes into.</summary>
    public static IEnumerable<(SettingDeclaration Declaration, IReadOnlyList<ResolvedItem> Items)> Resolved(ResolvedRequest resolved) =>
        All.Where(d => d.Resolve is not null).Select(d => (d, d.Resolve!(resolved)));

    private static readonly Dictionary<string, SettingDeclaration> ByName = All.ToDictionary(d => d.Name, StringComparer.Ordinal);

    private static SettingDeclaration Property(string name, Func<ImageInputs, SettingValue, ImageInputs> apply, string? documentedDefault = null, string? shownAs = null, Func<ResolvedRequest, string?>? resolved = null) => new()
    {
        Name = name,
        Shape = SettingShape.Property,
        Apply = apply,
        DocumentedDefault = documentedDefault,
        ShownAs = shownAs,
        Resolve = resolved is null ? null : r => [ResolvedItem.Of(name, ("Value", resolved(r) ?? string.Empty))],
    };

    private static SettingDeclaration Item(string name, Func<ImageInputs, SettingValue, ImageInputs> apply) => new()
    {
        Name = name,
        Shape = SettingShape.Item,
        Apply = apply,
    };

    private static SettingDeclaration Item(string name, string metadata, Func<ImageInputs, SettingValue, ImageInputs> apply) => new()
    {
        Name = name,
        Shape = SettingShape.Item,
        Metadata = metadata,
        Apply = apply,
    };

    private static SettingDeclaration Output(string name, Func<ResolvedRequest, string> value) => new()
    {
        Name = name,
        Shape = SettingShape.Property,
        Resolve = r => [ResolvedItem.Of(name, ("Value", value(r)))],
    };

    private static SettingDeclaration ItemOutput(string name, Func<ResolvedRequest, IReadOnlyList<ResolvedItem>> items) => new()
    {
        Name = name,
        Shape = SettingShape.Item,
        Resolve = items,
    };

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>NixImageSbom as resolved: the formats, or <c>none</c>.</summary>
    private static string SbomFormatsOf(ImageRequest request) =>
        request.SbomMediaTypes.Count == 0 ? "none" : string.Join(';', request.SbomMediaTypes.Select(m => m == MediaTypes.CycloneDxJson ? "CycloneDX" : "SPDX"));

    /// <summary>NixDefaultPackages as resolved: the list, or <c>none</c>.</summary>
    private static string DefaultPackagesOf(ImageRequest request)
    {
        var defaults = request.Packages.Where(p => p.Origin == "NixDefaultPackages").Select(p => p.Name).ToList();
        return defaults.Count == 0 ? "none" : string.Join(';', defaults);
    }
}

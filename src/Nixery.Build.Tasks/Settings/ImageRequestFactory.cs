using System.Globalization;
using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;

namespace Nixery.Build.Settings;

/// <summary>
/// The one home of every default and every check of a user setting: <see cref="ImageInputs"/> (the project's
/// strings) in, a validated <see cref="ImageRequest"/> out, or a coded <see cref="NixImageException"/>. It reads no
/// environment variable and writes nothing; it looks at the file system only where a setting names a path (whether a
/// folder exists, the popularity file). The MSBuild targets show its result (ComputeNixImageProperties) and build
/// from it (PrepareNixImage), so the defaults below are the ones the docs list (a test compares them).
/// </summary>
public static class ImageRequestFactory
{
    /// <summary>ContainerImageTags when neither it nor ContainerImageTag is set.</summary>
    public const string DefaultTag = "latest";

    /// <summary>ContainerWorkingDirectory: where the app's files go in the image.</summary>
    public const string DefaultWorkingDirectory = "/app";

    /// <summary>NixLayerBudget: Nixery's budget, leaving room under Docker's 125 for the symlink and app layers.</summary>
    public const int DefaultLayerBudget = 94;

    /// <summary>NixDefaultPackages: CA certificates and /etc/services, /etc/protocols (Nixery adds these too).</summary>
    public const string DefaultPackages = "cacert;iana-etc";

    /// <summary>zlib-ng level 5: measured the fastest level within 5% of gzip -6's size (bench/README.md).</summary>
    public const int DefaultCompressionLevel = 5;

    /// <summary>zstd level 2: measured the fastest level no larger than our gzip at its default (bench/README.md, "zstd layers").</summary>
    public const int DefaultZstdCompressionLevel = 2;

    /// <summary>The highest zstd level NixImageCompressionLevel takes (20–22 need far more memory per thread).</summary>
    public const int MaxZstdCompressionLevel = 19;

    /// <summary>NixImageSbom when empty.</summary>
    public const string DefaultSbom = "CycloneDX;SPDX";

    /// <summary>NixImageLayerCompression when empty.</summary>
    public const LayerCompression DefaultLayerCompression = Oci.LayerCompression.Gzip;

    /// <summary>NixImageCacheMaxSize, as the docs write it: 10GB, that is 10×10⁹ bytes (GiB would be 2³⁰).</summary>
    public const string DefaultCacheMaxSize = "10GB";

    /// <summary><see cref="DefaultCacheMaxSize"/> in bytes: a few dozen closures of typical .NET images.</summary>
    public const long DefaultCacheMaxSizeBytes = 10_000_000_000;

    /// <summary>The image's format when ContainerImageFormat is empty.</summary>
    public const ImageFormat DefaultFormat = ImageFormat.Oci;

    /// <summary>ContainerUser when empty: the non-root <c>app</c> user's uid, as in the SDK's .NET 8+ images.</summary>
    public static string DefaultUser => UserDatabase.AppUid.ToString(CultureInfo.InvariantCulture);

    public static ImageRequest Create(ImageInputs inputs)
    {
        var baseDirectory = inputs.ProjectDirectory;
        var runtime = OptionalName(inputs.DotnetRuntimePackage);
        var appHostPackages = List(inputs.AppHostPackages);
        var requested = inputs.Packages.Select(p => p.Trim()).Where(p => p.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var packages = new List<PackageRequest>();
        packages.AddRange(inputs.Packages.Select(p => new PackageRequest(p, "NixPackage")));
        packages.AddRange(List(string.IsNullOrWhiteSpace(inputs.DefaultPackages) ? DefaultPackages : inputs.DefaultPackages).Select(p => new PackageRequest(p, "NixDefaultPackages")));
        packages.AddRange(appHostPackages.Select(p => new PackageRequest(p, PackageRequest.AppHostOrigin)));
        if (runtime is not null)
        {
            packages.Add(new PackageRequest(runtime, "NixDotnetRuntimePackage"));
        }

        var platform = string.IsNullOrWhiteSpace(inputs.NixSystem)
            ? Platform.FromRuntimeIdentifier(inputs.RuntimeIdentifier)
            : Platform.FromNixSystem(inputs.NixSystem.Trim());
        var repository = string.IsNullOrWhiteSpace(inputs.Repository) ? ImageNames.RepositoryFromAssemblyName(inputs.AssemblyName) : inputs.Repository.Trim();
        var source = NixPackageSource.From(inputs.NixPkgsPath, inputs.NixPkgsChannel, inputs.NixPkgsGitRepository, inputs.NixPkgsGitRevision, baseDirectory);
        var popularityFile = string.IsNullOrWhiteSpace(inputs.PopularityFile) ? null : Path.GetFullPath(inputs.PopularityFile.Trim(), baseDirectory);
        var workingDirectory = ImageSettings.WorkingDirectory(inputs.WorkingDirectory);
        var baseImage = string.IsNullOrWhiteSpace(inputs.BaseImage) ? null : Registry.ImageReference.Parse(inputs.BaseImage).ToString();
        var (entrypoint, command) = ImageSettings.EntrypointAndCmd(
            inputs.AppCommand.Count > 0 ? inputs.AppCommand : DefaultAppCommand(inputs, workingDirectory, baseImage is not null), inputs.AppCommandArgs, inputs.DefaultArgs, inputs.AppCommandInstruction, inputs.Entrypoint, inputs.EntrypointArgs);
        var created = CreatedFrom(inputs.SourceDateEpoch);
        var localEngine = ImageSettings.LocalEngine(inputs.LocalRegistry);
        var compression = LayerCompressionOf(inputs.LayerCompression);
        // As the SDK: a registry or a local engine is the destination instead of the archive, unless the archive is asked for too.
        var writeArchive = (string.IsNullOrWhiteSpace(inputs.Registry) && localEngine is null) || !string.IsNullOrWhiteSpace(inputs.ArchiveOutputPath);
        if (!string.IsNullOrWhiteSpace(inputs.Registry))
        {
            // Where to push is not part of the image (a new registry needs no rebuild), but it is a setting: checked here.
            new RegistrySettings(inputs.Registry, inputs.InsecureRegistries, inputs.RegistryTimeout).Check(inputs.InsecureRegistriesVariable);
        }

        var request = new ImageRequest
        {
            PublishDirectory = Path.GetFullPath(inputs.PublishDirectory, baseDirectory),
            Packages = PackageNames.Normalize(packages),
            Source = source,
            Platform = platform,
            DotnetRuntimePackage = runtime,
            Repository = repository,
            Tags = Tags(inputs),
            ArchivePath = ArchivePath(inputs, repository),
            WriteArchive = writeArchive,
            OciLayoutPath = OciLayoutPath(inputs.OciLayoutPath, baseDirectory),
            LocalEngine = localEngine,
            WorkingDirectory = workingDirectory,
            Entrypoint = entrypoint,
            Command = command,
            Environment = inputs.EnvironmentVariables,
            // On a base image, the base's user unless the project sets one (as the SDK does); else the app user.
            User = !string.IsNullOrWhiteSpace(inputs.User) ? inputs.User.Trim() : baseImage is null ? DefaultUser : null,
            NixMode = NixModeSettings.Mode(inputs.NixMode),
            LockFile = string.IsNullOrWhiteSpace(inputs.LockFile) ? Path.Combine(baseDirectory, Nix.LockFile.FileName) : Path.GetFullPath(inputs.LockFile.Trim(), baseDirectory),
            BinaryCaches = NixModeSettings.Caches(inputs.BinaryCaches),
            TrustedPublicKeys = NixModeSettings.Keys(inputs.TrustedPublicKeys),
            BaseImage = baseImage,
            BaseImageLabels = !IsFalse(inputs.GenerateLabels),
            Ports = inputs.Ports.Select(p => ImageSettings.Port(p.Key, p.Value)).ToList(),
            Labels = Labels(inputs, requested, source, created),
            IsAspNet = IsTrue(inputs.IsAspNet),
            AppName = inputs.AssemblyName,
            Format = ImageSettings.Format(inputs.ImageFormat),
            LayerBudget = LayerBudget(inputs.LayerBudget),
            Popularity = popularityFile is null ? Popularity.None : PopularityFile.Load(popularityFile),
            PopularityFile = popularityFile,
            CacheDirectory = CacheDirectory(inputs.CacheDirectory, baseDirectory, inputs.XdgCacheHome, inputs.HomeDirectory),
            CacheMaxSize = CacheMaxSize(inputs.CacheMaxSize),
            CompressionLevel = CompressionLevel(inputs.CompressionLevel, compression),
            LayerCompression = compression,
            SbomMediaTypes = SbomMediaTypes(inputs.Sbom),
            AssetsFile = string.IsNullOrWhiteSpace(inputs.AssetsFile) ? null : Path.GetFullPath(inputs.AssetsFile.Trim(), baseDirectory),
            TargetFramework = string.IsNullOrWhiteSpace(inputs.TargetFramework) ? null : inputs.TargetFramework.Trim(),
            RuntimeIdentifier = string.IsNullOrWhiteSpace(inputs.RuntimeIdentifier) ? null : inputs.RuntimeIdentifier.Trim(),
            AppVersion = string.IsNullOrWhiteSpace(inputs.Version) ? null : inputs.Version.Trim(),
            IntermediateDirectory = Path.GetFullPath(inputs.IntermediateDirectory, baseDirectory),
            Created = created,
        };
        ImageRequestChecks.ValidateSettings(request);
        return request;
    }

    /// <summary>
    /// The layer cache folder: the one configured (relative to <paramref name="baseDirectory"/>), else
    /// $XDG_CACHE_HOME/nixery-build, else $HOME/.cache/nixery-build; null (layers kept in the build's own folder)
    /// when none of these is known.
    /// </summary>
    public static string? CacheDirectory(string? configured, string baseDirectory, string? xdgCacheHome, string? home)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return Path.GetFullPath(configured.Trim(), baseDirectory);
        }

        if (!string.IsNullOrWhiteSpace(xdgCacheHome))
        {
            return Path.Combine(xdgCacheHome.Trim(), "nixery-build");
        }

        return string.IsNullOrWhiteSpace(home) ? null : Path.Combine(home.Trim(), ".cache", "nixery-build");
    }

    /// <summary>The time from SOURCE_DATE_EPOCH when it is set, else <see cref="ImageDefaults.Epoch"/>.</summary>
    public static DateTimeOffset CreatedFrom(string? sourceDateEpoch)
    {
        if (string.IsNullOrWhiteSpace(sourceDateEpoch))
        {
            return ImageDefaults.Epoch;
        }

        // Tar headers hold 32-bit seconds here, hence the upper bound (2038-01-19).
        if (!long.TryParse(sourceDateEpoch.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > int.MaxValue)
        {
            throw new NixImageException(
                ErrorCodes.InvalidImageSetting,
                $"SOURCE_DATE_EPOCH '{sourceDateEpoch}' is not a number of seconds since 1970 up to {int.MaxValue}. Set it to e.g. the last commit's time (git log -1 --format=%ct), or unset it.");
        }

        return DateTimeOffset.FromUnixTimeSeconds(seconds);
    }

    /// <summary>ContainerImageTags, else ContainerImageTag, else <c>latest</c>; a tag given twice is one tag (index.json and RepoTags would list it twice).</summary>
    private static List<string> Tags(ImageInputs inputs)
    {
        var tags = List(inputs.ImageTags).Distinct(StringComparer.Ordinal).ToList();
        if (tags.Count == 0)
        {
            tags = List(inputs.ImageTag);
        }

        return tags.Count == 0 ? [DefaultTag] : tags;
    }

    /// <summary>
    /// The app command when ContainerAppCommand is empty: the apphost, or <c>/bin/dotnet app.dll</c>, in the working
    /// directory; none with the instruction None (or when the inputs name neither file).
    /// </summary>
    /// <param name="onBase">On a base image, whose <c>/bin</c> stays the base's: <c>dotnet</c> is the Nix profile's (<see cref="SymlinkLayer.ProfilePath"/>).</param>
    public static IReadOnlyList<string> DefaultAppCommand(ImageInputs inputs, string workingDirectory, bool onBase = false)
    {
        if (string.Equals(inputs.AppCommandInstruction?.Trim(), "None", StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }

        if (!string.IsNullOrWhiteSpace(inputs.AppHostFileName))
        {
            return [$"{workingDirectory}/{inputs.AppHostFileName.Trim()}"];
        }

        return string.IsNullOrWhiteSpace(inputs.AppFileName) ? [] : [onBase ? SymlinkLayer.ProfilePath + "/bin/dotnet" : "/bin/dotnet", $"{workingDirectory}/{inputs.AppFileName.Trim()}"];
    }

    /// <summary>
    /// The labels in order (a later one of the same key wins): the created labels (the image's fixed time), the
    /// generated Nix labels, then the ContainerLabel items (which include the SDK-style labels the targets generate).
    /// </summary>
    private static List<KeyValuePair<string, string>> Labels(ImageInputs inputs, List<string> requested, NixPackageSource source, DateTimeOffset created)
    {
        var labels = new List<KeyValuePair<string, string>>();
        var generate = !IsFalse(inputs.GenerateLabels);
        if (generate && !IsFalse(inputs.GenerateCreatedLabel))
        {
            labels.Add(new("org.opencontainers.image.created", OciJson.FormatTime(created)));
            labels.Add(new("org.opencontainers.artifact.created", OciJson.FormatTime(created)));
        }

        if (generate)
        {
            // Which Nix packages the image was asked for, and from where: what a scanner or a curious user needs to rebuild it.
            labels.Add(new("build.nixery.nix.packages", string.Join(' ', requested.Order(StringComparer.Ordinal))));
            labels.Add(new("build.nixery.nix.source", NixPkgsLabel(source, inputs.NixPkgsPath)));
        }

        labels.AddRange(inputs.Labels);
        return labels;
    }

    /// <summary>The package source as the project names it: no absolute path of this machine, so checkouts elsewhere give the same label.</summary>
    private static string NixPkgsLabel(NixPackageSource source, string? nixPkgsPath) => source switch
    {
        NixPackageSource.LocalPath => "path:" + nixPkgsPath!.Trim(),
        NixPackageSource.Channel channel => "channel:" + channel.Name,
        NixPackageSource.Git git => "git:" + git.Url + (git.Revision is null ? string.Empty : "#" + git.Revision),
        _ => "<nixpkgs>",
    };

    /// <summary>ContainerArchiveOutputPath as a file; a folder (or nothing: bin/…/image) gets <c>&lt;repository&gt;.tar</c>.</summary>
    private static string ArchivePath(ImageInputs inputs, string repository)
    {
        var fileName = repository.Replace('/', '-') + ".tar";
        var configured = inputs.ArchiveOutputPath;
        if (string.IsNullOrWhiteSpace(configured))
        {
            return Path.Combine(Path.GetFullPath(inputs.DefaultArchiveDirectory, inputs.ProjectDirectory), fileName);
        }

        var path = Path.GetFullPath(configured.Trim(), inputs.ProjectDirectory);
        var isFolder = configured.TrimEnd().EndsWith('/') || configured.TrimEnd().EndsWith('\\') || Directory.Exists(path);
        return isFolder ? Path.Combine(path, fileName) : path;
    }

    /// <summary>NixImageOciLayoutPath as a full path, or null when unset; a path that is an existing file is refused.</summary>
    private static string? OciLayoutPath(string? configured, string baseDirectory)
    {
        if (string.IsNullOrWhiteSpace(configured))
        {
            return null;
        }

        var path = Path.TrimEndingDirectorySeparator(Path.GetFullPath(configured.Trim(), baseDirectory));
        if (File.Exists(path))
        {
            throw new NixImageException(
                ErrorCodes.InvalidImageSetting,
                $"NixImageOciLayoutPath '{configured}' is a file ('{path}'), but an OCI image layout is a folder. Point it at a folder (it is created if missing), or remove the property.");
        }

        return path;
    }

    private static int LayerBudget(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return DefaultLayerBudget;
        }

        if (!int.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var budget))
        {
            throw new NixImageException(ErrorCodes.LayerLimit, $"NixLayerBudget '{value}' is not a whole number. Set it to a number from 1 to {ImageDefaults.MaxLayers - 2}.");
        }

        return budget;
    }

    private static long CacheMaxSize(string? value)
    {
        try
        {
            return LayerCache.ParseSize(string.IsNullOrWhiteSpace(value) ? DefaultCacheMaxSize : value);
        }
        catch (FormatException)
        {
            throw new NixImageException(ErrorCodes.InvalidCacheSetting, $"NixImageCacheMaxSize '{value}' is not a size. Use e.g. 10GB, 500MB or 2GiB.");
        }
    }

    /// <summary>NixImageSbom: the formats named (CycloneDX, SPDX; any case, any order, once each), or none.</summary>
    internal static IReadOnlyList<string> SbomMediaTypes(string? value)
    {
        var names = (string.IsNullOrWhiteSpace(value) ? DefaultSbom : value).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 1 && names[0].Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }

        var mediaTypes = new List<string>();
        foreach (var name in names)
        {
            var mediaType = name.ToLowerInvariant() switch
            {
                "cyclonedx" => MediaTypes.CycloneDxJson,
                "spdx" => MediaTypes.SpdxJson,
                _ => throw new NixImageException(ErrorCodes.InvalidSbomSetting, $"NixImageSbom '{value}' names '{name}', which is not an SBOM format this package writes. Use CycloneDX, SPDX, both (CycloneDX;SPDX, the default) or none."),
            };
            if (!mediaTypes.Contains(mediaType))
            {
                mediaTypes.Add(mediaType);
            }
        }

        // One order whatever the project's (CycloneDX, then SPDX): the documents and their referrers come out the same.
        return [.. new[] { MediaTypes.CycloneDxJson, MediaTypes.SpdxJson }.Where(mediaTypes.Contains)];
    }

    private static LayerCompression LayerCompressionOf(string? value) => (value ?? string.Empty).Trim().ToLowerInvariant() switch
    {
        "" => DefaultLayerCompression,
        "gzip" => Oci.LayerCompression.Gzip,
        "zstd" => Oci.LayerCompression.Zstd,
        _ => throw new NixImageException(ErrorCodes.InvalidCacheSetting, $"NixImageLayerCompression '{value}' is not a layer compression this package writes. Use gzip (the default) or zstd."),
    };

    /// <summary>NixImageCompressionLevel: the codec's own level (gzip 1–9, zstd 1–19), else its default.</summary>
    private static int CompressionLevel(string? value, LayerCompression compression)
    {
        var (name, max, fallback) = compression == Oci.LayerCompression.Zstd ? ("zstd", MaxZstdCompressionLevel, DefaultZstdCompressionLevel) : ("gzip", 9, DefaultCompressionLevel);
        if (string.IsNullOrWhiteSpace(value))
        {
            return fallback;
        }

        if (!int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var level) || level < 1 || level > max)
        {
            throw new NixImageException(ErrorCodes.InvalidCacheSetting, $"NixImageCompressionLevel '{value}' is not a {name} level. Use a number from 1 (fastest) to {max} (smallest).");
        }

        return level;
    }

    private static bool IsFalse(string? value) => string.Equals(value?.Trim(), "false", StringComparison.OrdinalIgnoreCase);

    private static bool IsTrue(string? value) => string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase);

    private static string? OptionalName(string? value) =>
        string.IsNullOrWhiteSpace(value) || value.Trim() == "none" ? null : value.Trim();

    private static List<string> List(string? value) =>
        OptionalName(value) is { } list
            ? list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : [];
}

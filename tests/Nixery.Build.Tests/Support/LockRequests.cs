using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Settings;

namespace Nixery.Build.Tests.Support;

/// <summary>
/// A request for a build from a lock file, made by hand (no factory, no file system look): the tests that need one
/// share it, so a new <see cref="ImageRequest"/> member is added here once. Callers set what their test is about.
/// </summary>
internal static class LockRequests
{
    public static ImageRequest Create(TempDirectory temp, string repository, string lockFile, NixPackageSource source, IReadOnlyList<PackageRequest> packages, string system = "x86_64-linux") => new()
    {
        PublishDirectory = temp.Combine("publish"),
        Packages = packages,
        Source = source,
        Platform = Platform.FromNixSystem(system),
        NixMode = NixMode.Lock,
        LockFile = lockFile,
        Repository = repository,
        Tags = ["latest"],
        ArchivePath = temp.Combine("image", repository.Replace('/', '-') + ".tar"),
        WriteArchive = true,
        WorkingDirectory = "/app",
        Entrypoint = ["/app/" + repository.Split('/')[^1]],
        User = "1000:1000",
        Format = ImageFormat.Oci,
        LayerBudget = 50,
        IntermediateDirectory = temp.Combine("obj"),
        CacheMaxSize = 1 << 30,
        Created = DateTimeOffset.FromUnixTimeSeconds(1700000000),
        CompressionLevel = 1,
        LayerCompression = LayerCompression.Gzip,
    };
}

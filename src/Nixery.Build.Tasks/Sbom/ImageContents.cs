using Nixery.Build.Nix;
using Nixery.Build.Oci;

namespace Nixery.Build.Sbom;

/// <summary>
/// What one image (one platform's image in an index) holds, as its SBOM documents tell it: a plain value the pipeline
/// fills and <see cref="CycloneDxWriter"/> and <see cref="SpdxWriter"/> turn into bytes.
/// </summary>
/// <param name="Image">The image itself: its name, manifest digest, platform and created time.</param>
/// <param name="Closure">The store paths in the image (path, NAR size and hash, references, deriver) and the packages that were asked for.</param>
/// <param name="App">The app the image runs, or null for an image without one.</param>
/// <param name="AppPackages">The app's NuGet packages and project references (<see cref="AppPackages.Read"/>); <see cref="AppPackages.None"/> when there are none.</param>
/// <param name="BaseImage">The image this one was built on, by digest, or null when it was built from scratch.</param>
/// <param name="StorePathLicenses">
/// Licence expressions (SPDX) by store path, for the requested packages whose licence is known; a store path without
/// one is written without a licence (omitted rather than guessed).
/// </param>
public sealed record ImageContents(
    SbomImage Image,
    RuntimeClosure Closure,
    SbomApp? App,
    AppPackages AppPackages,
    SbomBaseImage? BaseImage,
    IReadOnlyDictionary<string, string>? StorePathLicenses = null);

/// <summary>The image an SBOM describes.</summary>
/// <param name="Repository">Its name without tag or digest (<c>registry.example/team/app</c>, or <c>app</c> for a local archive).</param>
/// <param name="ManifestDigest">The digest of its image manifest: what the documents are attached to.</param>
/// <param name="Platform">The platform it is for (os, architecture, variant).</param>
/// <param name="Created">Its created time (from <c>SOURCE_DATE_EPOCH</c> or the fixed time): also the documents' timestamp.</param>
public sealed record SbomImage(string Repository, Digest ManifestDigest, Platform Platform, DateTimeOffset Created);

/// <summary>The app the image runs.</summary>
/// <param name="Name">Its assembly name.</param>
/// <param name="Version">Its version (the assembly's, or the project's <c>Version</c>); empty when unknown.</param>
public sealed record SbomApp(string Name, string Version);

/// <summary>The base image, by digest.</summary>
/// <param name="Reference">The reference as the project named it, without a digest (<c>mcr.microsoft.com/dotnet/runtime-deps:10.0</c>).</param>
/// <param name="ManifestDigest">The digest of the manifest the image was built on (the platform's image, not an index).</param>
public sealed record SbomBaseImage(string Reference, Digest ManifestDigest);

/// <summary>A NuGet package whose files are in the app.</summary>
/// <param name="Id">The package id as the assets file spells it (<c>Newtonsoft.Json</c>).</param>
/// <param name="Version">The version, normalised by NuGet.Versioning (<c>1.0</c> becomes <c>1.0.0</c>; build metadata dropped).</param>
/// <param name="Sha512">
/// The SHA-512 of the .nupkg file, as 128 lower-case hex digits: what NuGet recorded in the package folder
/// (<c>.nupkg.sha512</c>) when it extracted the file it downloaded; null when the package folder has no such record.
/// </param>
/// <param name="License">The licence expression from the package's nuspec (<c>&lt;license type="expression"&gt;</c>); null for none or a licence URL or file only.</param>
/// <param name="Dependencies">The ids of the listed packages it depends on, sorted (through packages that put no files in the app).</param>
public sealed record NuGetPackage(string Id, string Version, string? Sha512, string? License, IReadOnlyList<string> Dependencies);

/// <summary>A project the app references, whose assembly is in the app.</summary>
/// <param name="Name">The project's name as the assets file has it (<c>MyLib</c>).</param>
/// <param name="Version">Its version as the assets file has it.</param>
/// <param name="Dependencies">The ids of the listed packages, and names of the projects, it depends on, sorted.</param>
public sealed record ProjectReference(string Name, string Version, IReadOnlyList<string> Dependencies);

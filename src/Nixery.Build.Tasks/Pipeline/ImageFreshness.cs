using System.Security.Cryptography;
using System.Text;
using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.LayerFormat;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Sinks;
using Nixery.Build.Sources;

namespace Nixery.Build.Pipeline;

/// <summary>
/// The one owner of "up to date" in the image step. It says what each output depends on: the request file
/// (<see cref="RequestKey"/>: every input, the package set, the popularity file, the engine), the closure
/// (<see cref="ClosureKey"/>), each layer (<see cref="LayerKey"/>), the image (<see cref="ImageInputs"/>: the request
/// file's bytes, the publish folder as it is now, the base's manifest, the engine), the index (<see cref="IndexInputs"/>),
/// the lock file (<see cref="LockIsCurrent"/>, <see cref="WriteLock"/>), each destination (<see cref="IsUpToDate"/>)
/// and the SBOMs (the assets file is in <see cref="ImageInputs"/>; their referrers are recorded with the image).
/// It decides once per run, against the last summary, and writes the summary (<see cref="Record"/>). The closure
/// source, the layer planner and the sinks are handed its keys or ask it; the caches below (<c>Nix/ClosureCache</c>,
/// <c>Cache/LayerCache</c>, blobs by digest) only store under those keys and check what they give back.
/// </summary>
/// <param name="Inputs">The digest of everything that decides the image this time.</param>
/// <param name="Previous">The last build's summary, if it can be read.</param>
public sealed record ImageFreshness(string Inputs, BuildSummary? Previous, bool UpToDate)
{
    /// <summary>
    /// Hex SHA-256 of what decides the image: the request (every setting and the package set; as the bytes of its
    /// request file when the caller has them, else serialised here), the publish folder's entries with their sizes
    /// and times (read now), and the engine that builds it.
    /// </summary>
    /// <param name="baseManifest">The base image's manifest, when the request names one: what its tag resolved to decides the image too.</param>
    /// <remarks>With SBOMs, the assets file (size and time) decides them too: its packages are what they list.</remarks>
    public static string ImageInputs(ImageRequest request, byte[]? requestFileBytes = null, Digest? baseManifest = null) =>
        InputsOf(
            request,
            requestFileBytes,
            (PublishFolder.Fingerprint(request.PublishDirectory) ?? string.Empty)
                + (baseManifest is { } b ? "\nbase " + b : string.Empty)
                + (request.SbomMediaTypes.Count > 0 && request.AssetsFile is { } assets ? "\nassets " + FileStamp(assets) : string.Empty));

    private static string FileStamp(string path)
    {
        var file = new FileInfo(path);
        return file.Exists ? $"{file.Length} {file.LastWriteTimeUtc.Ticks}" : "absent";
    }

    /// <summary>Hex SHA-256 of what decides an index: the request (as for an image) and the joined platforms' index.</summary>
    public static string IndexInputs(ImageRequest request, byte[]? requestFileBytes, Digest index) =>
        InputsOf(request, requestFileBytes, "index " + index.Value);

    /// <summary>
    /// Hex SHA-256 of the request (its file's bytes, else serialised here), <paramref name="rest"/> (what else decides
    /// the output: the publish folder as it is now, or an index's digest) and the engine that builds it.
    /// </summary>
    private static string InputsOf(ImageRequest request, byte[]? requestFileBytes, string rest)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(requestFileBytes ?? RequestFile.Serialize(request));
        hash.AppendData(Encoding.UTF8.GetBytes("\n" + rest + "\n"));
        hash.AppendData(Encoding.UTF8.GetBytes(typeof(ImageFreshness).Assembly.ManifestModule.ModuleVersionId.ToString("N")));
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// The closure's key: the requested packages and the setting each came from, the Nix system, the package set's
    /// identity and the closure cache's format. Null when nothing pins the package set: Nix is asked on every build.
    /// </summary>
    public static string? ClosureKey(ImageRequest request)
    {
        if (request.NixSourceIdentity is null)
        {
            return null;
        }

        var text = new StringBuilder()
            .Append("nixery-build closure ").Append(ClosureCache.FormatVersion).Append('\n')
            .Append(request.Platform.NixSystem).Append('\n')
            .Append(request.NixSourceIdentity).Append('\n');
        foreach (var package in request.Packages)
        {
            text.Append(package.Name).Append(' ').Append(package.Origin).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>
    /// A layer's key: its kind and ordered inputs (what the planner says decides its entries: store paths, or every
    /// app file's path, size, time and mode) and the writer's settings (time, codec, level).
    /// </summary>
    public static string LayerKey(string kind, LayerWriterSettings settings, IEnumerable<string> inputs)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Line(string text) => hash.AppendData(Encoding.UTF8.GetBytes(text + "\n"));
        Line("nixery-build layer");
        Line(kind);
        Line(settings.ToString());
        foreach (var input in inputs)
        {
            Line(input);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>
    /// Whether the lock file already holds this platform's closure for the request's packages and package set. A
    /// build without Nix reads the lock (it is an input, so always current); a build with Nix writes it, and an up-to-date
    /// build checks it here, so a deleted or stale lock is written again even when the image is not rebuilt.
    /// </summary>
    public static bool LockIsCurrent(ImageRequest request)
    {
        if (request.NixMode == NixMode.Lock)
        {
            return true;
        }

        try
        {
            return File.Exists(request.LockFile)
                && LockFile.Read(request.LockFile).TryGetValue(request.Platform.NixSystem, out var locked)
                && LockFile.Mismatch(locked, LockSource(request), request.Packages) is null
                && LockFile.Inconsistency(locked) is null;
        }
        catch (NixImageException)
        {
            return false;
        }
    }

    /// <summary>Records a closure Nix gave in the lock file, for builds without Nix (rewritten only when it changes).</summary>
    public static void WriteLock(ImageRequest request, RuntimeClosure closure, IBuildLog log)
    {
        var locked = new LockedPlatform(LockSource(request), closure.Packages, closure.Paths);
        try
        {
            if (LockFile.Update(request.LockFile, request.Platform.NixSystem, locked))
            {
                log.Info($"Nix: wrote the closure for {request.Platform.NixSystem} to {request.LockFile}; commit it to build without Nix");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new NixImageException(
                ErrorCodes.WriteFailed,
                $"The lock file '{request.LockFile}' cannot be written ({e.Message}). Make its folder writable, or set NixLockFile to a path that is.",
                e);
        }
    }

    private static string LockSource(ImageRequest request) => LockFile.SourceOf(request.Source, Path.GetDirectoryName(request.LockFile)!);

    /// <summary>
    /// A digest of everything the request is made from: every input (all of <see cref="ImageInputs"/>' members, by
    /// reflection, so none is forgotten), what is on disk that the request names (package set, popularity file) and the
    /// engine. Null when nothing pins the package set: such a request is new every time.
    /// </summary>
    public static string? RequestKey(ImageInputs inputs, ImageRequest request)
    {
        if (request.NixSourceIdentity is null)
        {
            return null;
        }

        var text = new StringBuilder();
        foreach (var property in typeof(ImageInputs).GetProperties().OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            text.Append(property.Name).Append('=');
            Append(text, property.GetValue(inputs));
            text.Append('\n');
        }

        text.Append(request.NixSourceIdentity).Append('\n');
        text.Append(request.PopularityFile is { } popularity ? NixSourceIdentity.OfLocalPath(popularity) : string.Empty).Append('\n');
        text.Append(typeof(ImageFreshness).Assembly.ManifestModule.ModuleVersionId.ToString("N"));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static void Append(StringBuilder text, object? value)
    {
        switch (value)
        {
            case null:
                text.Append('\u0001');
                break;
            case string s:
                text.Append(s.Length).Append(':').Append(s);
                break;
            case KeyValuePair<string, string> pair:
                Append(text, pair.Key);
                Append(text, pair.Value);
                break;
            case System.Collections.IEnumerable list:
                text.Append('[');
                foreach (var item in list)
                {
                    Append(text, item);
                }

                text.Append(']');
                break;
            default:
                throw new InvalidOperationException($"ImageInputs has a member of type {value.GetType().Name}, which its key does not know.");
        }
    }

    /// <summary>Up to date when the last summary was made from the same inputs.</summary>
    public static ImageFreshness Of(ImageRequest request, string inputs)
    {
        var previous = BuildSummary.TryRead(request.SummaryPath);
        return new ImageFreshness(inputs, previous, previous is not null && previous.Inputs == inputs);
    }

    /// <summary>The same inputs, with the image to be built again (its blobs are gone, or one was found damaged).</summary>
    public ImageFreshness Rebuilt() => this with { UpToDate = false };

    /// <summary>
    /// Whether <paramref name="sink"/>'s destination holds this image: an archive only when it is still the file the
    /// summary recorded; other destinations when the image is up to date (each may still check for itself).
    /// </summary>
    public bool IsUpToDate(IImageSink sink) =>
        UpToDate && (sink is not ArchiveSink archive || Previous?.ArchiveIsIntact(archive.Path) == true);

    /// <summary>Writes the summary of what was delivered, with these inputs, for the next run to compare; returns its path.</summary>
    public string Record(ImageRequest request, ImageArtifact artifact, IReadOnlyList<SbomFile> sboms, bool? nixReused, CacheCounters counters) =>
        BuildSummary.Write(request, Inputs, artifact, sboms, nixReused, counters);
}

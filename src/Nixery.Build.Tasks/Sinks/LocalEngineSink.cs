using Nixery.Build.Diagnostics;
using Nixery.Build.Engines;
using Nixery.Build.Oci;

namespace Nixery.Build.Sinks;

/// <summary>
/// LocalRegistry (Docker or Podman, as in the SDK): the image archive streamed into the engine's <c>load</c>, so
/// <c>docker images</c> / <c>podman images</c> show it under its repository and every tag. An image that is up to date
/// and that the engine already holds under every tag (its ID is the config digest) is not loaded again: one
/// <c>image inspect</c>, no other call. Before a load the engine is asked whether it answers (a coded error if not),
/// and for an image with zstd layers whether it reads them (Docker before 23 does not: a coded error).
/// </summary>
public sealed class LocalEngineSink(LocalEngine engine, RepositoryTags names, DateTimeOffset created, IBuildLog log) : IImageSink
{
    public SinkKind Kind => SinkKind.Engine;

    public async Task<SinkResult> WriteAsync(ImageArtifact image, bool upToDate, CancellationToken cancellationToken)
    {
        var references = names.References;
        if (upToDate && !image.IsIndex
            && await engine.ImageIdsAsync(references, cancellationToken) is { } ids
            && ids.All(id => id == image.Images[0].Config.Descriptor.Digest.Value))
        {
            log.Info($"{engine.Kind} already holds {string.Join(", ", references)} ({image.Digest}): not loaded again");
            return new SinkResult(Kind, references, Wrote: false);
        }

        // Every layer is loaded, the base image's too: any zstd one needs an engine that reads zstd.
        var zstdLayers = image.Images.SelectMany(i => i.Layers).Any(l => MediaTypes.CompressionOf(l.Blob.Descriptor.MediaType) == LayerCompression.Zstd);
        await engine.EnsureRunningAsync(cancellationToken, zstdLayers);
        await engine.LoadAsync(
            (input, token) => Task.Run(() => OciArchiveWriter.WriteTo(input, image, names.Repository, names.Tags, created, token), token),
            cancellationToken);
        log.Info($"Loaded into {engine.Kind}: {string.Join(", ", references)} ({image.Digest})");
        return new SinkResult(Kind, references);
    }
}

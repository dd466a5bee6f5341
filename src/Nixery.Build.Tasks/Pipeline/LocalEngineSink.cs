using Nixery.Build.Archive;
using Nixery.Build.Diagnostics;
using Nixery.Build.Engines;
using Nixery.Build.Oci;

namespace Nixery.Build.Pipeline;

/// <summary>
/// LocalRegistry (Docker or Podman, as in the SDK): the image archive streamed into the engine's <c>load</c>, so
/// <c>docker images</c> / <c>podman images</c> show it under its repository and every tag. An image that is up to date
/// and that the engine already holds under every tag (its ID is the config digest) is not loaded again: one
/// <c>image inspect</c>, no other call. Before a load the engine is asked whether it answers (a coded error if not).
/// </summary>
public sealed class LocalEngineSink(LocalEngine engine, IBuildLog log) : IImageSink
{
    public async Task<SinkResult> WriteAsync(ImageArtifact image, ImageRun run, CancellationToken cancellationToken)
    {
        var request = run.Request;
        var references = request.Tags.Select(t => $"{request.Repository}:{t}").ToList();
        if (run.UpToDate && !image.IsIndex
            && await engine.ImageIdsAsync(references, cancellationToken) is { } ids
            && ids.All(id => id == image.Images[0].Config.Descriptor.Digest.Value))
        {
            log.Info($"{engine.Kind} already holds {string.Join(", ", references)} ({image.Digest}): not loaded again");
            return new SinkResult("engine", references, Wrote: false);
        }

        await engine.EnsureRunningAsync(cancellationToken);
        await engine.LoadAsync(
            (input, token) => Task.Run(() => OciArchiveWriter.WriteTo(input, image, request.Repository, request.Tags, request.Created, token), token),
            cancellationToken);
        log.Info($"Loaded into {engine.Kind}: {string.Join(", ", references)} ({image.Digest})");
        return new SinkResult("engine", references);
    }
}

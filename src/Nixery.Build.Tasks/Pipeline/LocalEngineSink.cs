using Nixery.Build.Archive;
using Nixery.Build.Diagnostics;
using Nixery.Build.Engines;
using Nixery.Build.Oci;

namespace Nixery.Build.Pipeline;

/// <summary>
/// LocalRegistry (Docker or Podman, as in the SDK): the image archive streamed into the engine's <c>load</c>, so
/// <c>docker images</c> / <c>podman images</c> show it under its repository and every tag. The engine is checked first
/// (a coded error when it is missing or does not answer). An image that is up to date and that the engine already
/// holds under every tag (its ID is the config digest) is not loaded again.
/// </summary>
public sealed class LocalEngineSink(LocalEngine engine, IBuildLog log) : IImageSink
{
    public async Task<SinkResult> WriteAsync(ImageArtifact image, ImageRun run, CancellationToken cancellationToken)
    {
        var request = run.Request;
        var references = request.Tags.Select(t => $"{request.Repository}:{t}").ToList();
        await engine.EnsureRunningAsync(cancellationToken);
        if (run.UpToDate && !image.IsIndex && await HoldsAsync(references, image.Images[0].Config.Descriptor.Digest.Value, cancellationToken))
        {
            log.Info($"{engine.Kind} already holds {string.Join(", ", references)} ({image.Digest}): not loaded again");
            return new SinkResult("engine", references, Wrote: false);
        }

        await engine.LoadAsync(
            (input, token) => Task.Run(() => OciArchiveWriter.WriteTo(input, image, request.Repository, request.Tags, request.Created, token), token),
            cancellationToken);
        log.Info($"Loaded into {engine.Kind}: {string.Join(", ", references)} ({image.Digest})");
        return new SinkResult("engine", references);
    }

    private async Task<bool> HoldsAsync(IReadOnlyList<string> references, string configDigest, CancellationToken cancellationToken)
    {
        foreach (var reference in references)
        {
            if (await engine.ImageIdAsync(reference, cancellationToken) != configDigest)
            {
                return false;
            }
        }

        return true;
    }
}

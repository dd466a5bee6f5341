using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;
using Nixery.Build.Streams;

namespace Nixery.Build.Registry;

/// <summary>How one blob got into the repository.</summary>
internal enum BlobOutcome
{
    AlreadyThere,

    /// <summary>Not checked: an earlier push to this repository sent it (the manifest's acceptance confirms it).</summary>
    Recorded,
    Mounted,
    Uploaded,
}

/// <summary>
/// Gets one blob into the repository with as few bytes and round trips as possible: nothing at all when an earlier
/// push to this repository sent it (unless told to check); else HEAD first (there already: done); then a
/// cross-repository mount from a repository of the same registry known to hold it; else an upload — one PUT
/// for a small blob, PATCH chunks with <c>Content-Range</c> for a large one. A broken chunk is resumed from the
/// registry's <c>Range</c>; an upload the registry lost is started again. Tries are bounded: failures without
/// progress count against <see cref="RetryPolicy.MaxAttempts"/>; each chunk that gets through resets the count.
/// </summary>
internal sealed class BlobUploader
{
    private readonly DistributionClient _client;
    private readonly RetryHandler _retry;
    private readonly RegistryErrors _errors;
    private readonly BlobLocations? _locations;
    private readonly PushOptions _options;
    private readonly IBuildLog _log;

    public BlobUploader(RegistryConnection connection, BlobLocations? locations, PushOptions options, IBuildLog log)
    {
        _client = connection.Client;
        _retry = connection.Retry;
        _errors = connection.Errors;
        _locations = locations;
        _options = options;
        _log = log;
    }

    /// <param name="trustRecord">Skip a blob that an earlier push to this repository is recorded to have sent.</param>
    public async Task<BlobOutcome> PushAsync(ImageBlob blob, string label, CancellationToken cancellationToken, bool trustRecord = false)
    {
        var descriptor = blob.Descriptor;
        var progress = new BlobProgress(_log, $"{label} {DistributionClient.Short(descriptor.Digest)}", descriptor.Size, _options.Time, _options.ProgressInterval);
        if (trustRecord && _locations?.Holds(_client.Registry.Name, _client.Repository, descriptor.Digest) == true)
        {
            progress.Finished("sent to this repository by an earlier push, not checked again");
            return BlobOutcome.Recorded;
        }

        if (await _client.BlobExistsAsync(descriptor, cancellationToken))
        {
            progress.Finished("already in the registry, skipped");
            return BlobOutcome.AlreadyThere;
        }

        Uri? started = null;
        var sources = _locations?.RepositoriesHolding(_client.Registry.Name, descriptor.Digest, except: _client.Repository) ?? [];
        foreach (var source in sources.Take(_options.MaxMountSources))
        {
            try
            {
                started = await _client.MountAsync(descriptor, source, cancellationToken);
            }
            catch (NixImageException e) when (e.Code is ErrorCodes.RegistryAuthenticationFailed or ErrorCodes.RegistryRequestFailed)
            {
                // Not allowed to read the source, or the registry does not mount: upload instead.
                _log.Detail($"  {progress.Label}: mount from {source} refused ({e.Message})");
                continue;
            }

            if (started is null)
            {
                progress.Finished($"mounted from {source}");
                return BlobOutcome.Mounted;
            }

            break;
        }

        // Uploads read the blob in slices (and again on a retry): check it whole once, before any byte goes out.
        BlobCheck.Verify(blob);
        if (descriptor.Size <= _options.WholeUploadLimit)
        {
            await UploadWholeAsync(blob, started, progress, cancellationToken);
        }
        else
        {
            await UploadChunkedAsync(blob, started, progress, cancellationToken);
        }

        progress.Uploaded();
        return BlobOutcome.Uploaded;
    }

    private async Task UploadWholeAsync(ImageBlob blob, Uri? started, BlobProgress progress, CancellationToken cancellationToken)
    {
        var failures = 0;
        while (true)
        {
            var location = started ?? await _client.StartUploadAsync(blob.Descriptor, cancellationToken);
            started = null;
            try
            {
                await _client.PutWholeBlobAsync(location, blob, progress.Report, cancellationToken);
                return;
            }
            catch (RegistryTransientException e)
            {
                failures++;
                if (failures >= _retry.Policy.MaxAttempts)
                {
                    throw _errors.GiveUp(e, failures);
                }

                await _retry.WaitAsync(e, failures, cancellationToken);

                // The answer may be what got lost, not the upload.
                if (await _client.BlobExistsAsync(blob.Descriptor, cancellationToken))
                {
                    return;
                }
            }
        }
    }

    private async Task UploadChunkedAsync(ImageBlob blob, Uri? started, BlobProgress progress, CancellationToken cancellationToken)
    {
        var size = blob.Descriptor.Size;
        var location = started ?? await _client.StartUploadAsync(blob.Descriptor, cancellationToken);
        long offset = 0;
        var failures = 0;
        while (offset < size)
        {
            var length = Math.Min(_options.ChunkSize, size - offset);
            try
            {
                var (next, received) = await _client.PatchChunkAsync(location, blob, offset, length, progress.Report, cancellationToken);
                location = next;
                if (received != offset + length)
                {
                    // The registry holds a different amount than was sent: go on from what it says it has.
                    _log.Detail($"  {progress.Label}: the registry holds {received} bytes after a chunk that ended at {offset + length}; going on from there");
                    if (received > size || received < 0)
                    {
                        throw new RegistryTransientException($"upload chunk of {DistributionClient.Short(blob.Descriptor.Digest)}", null, null, null, new IOException($"the registry reports {received} bytes of {size}"));
                    }
                }

                offset = received;
                failures = 0;
            }
            catch (RegistryTransientException e)
            {
                failures++;
                if (failures >= _retry.Policy.MaxAttempts)
                {
                    throw _errors.GiveUp(e, failures);
                }

                await _retry.WaitAsync(e, failures, cancellationToken);
                if (await _client.UploadStatusAsync(location, blob.Descriptor, cancellationToken) is { } status && status.Received <= size)
                {
                    _log.Detail($"  {progress.Label}: resuming at byte {status.Received} ({e.What} failed: {e.Message})");
                    (location, offset) = status;
                }
                else
                {
                    _log.Detail($"  {progress.Label}: the registry lost the upload; starting it again ({e.What} failed: {e.Message})");
                    location = await _client.StartUploadAsync(blob.Descriptor, cancellationToken);
                    offset = 0;
                }
            }
        }

        await _client.CompleteUploadAsync(location, blob.Descriptor, cancellationToken);
    }
}

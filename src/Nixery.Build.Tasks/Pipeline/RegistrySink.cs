using Nixery.Build.Oci;
using Nixery.Build.Registry;

namespace Nixery.Build.Pipeline;

/// <summary>
/// A registry push in two halves: connecting starts when the sink is made (before the layers are built, so the
/// registry's round trips and the HTTP stack's first use overlap with the layer work); <see cref="PushAsync"/> sends
/// the image once it exists. Disposing it cancels a connection still under way.
/// </summary>
public sealed class RegistrySink : IDisposable
{
    private readonly CancellationTokenSource _cancel;
    private readonly Task<RegistryPusher.Session> _connecting;

    internal RegistrySink(RegistryPusher pusher, RegistryPushRequest request, CancellationToken cancellationToken)
    {
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = _cancel.Token;
        _connecting = Task.Run(() => pusher.ConnectAsync(request, token), token);
    }

    public async Task<RegistryPushResult> PushAsync(BuiltImage image, CancellationToken cancellationToken)
    {
        var session = await _connecting;
        return await session.PushAsync(image, cancellationToken);
    }

    public void Dispose()
    {
        _cancel.Cancel();

        // The session closes when the connection attempt ends; its failure, if nobody pushed, is nobody's error.
        _connecting.ContinueWith(
            t =>
            {
                if (t.IsCompletedSuccessfully)
                {
                    t.Result.Dispose();
                }

                _ = t.Exception;
                _cancel.Dispose();
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }
}

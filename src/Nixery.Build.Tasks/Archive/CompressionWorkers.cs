using System.Collections.Concurrent;

namespace Nixery.Build.Archive;

/// <summary>
/// A fixed set of threads that compress chunks for every layer of a build. Dedicated threads, not the thread
/// pool: the layer writers block while they wait for their chunks, and blocked pool threads would starve the
/// very work they wait for. One instance per build; disposing it waits for the threads to end.
/// </summary>
public sealed class CompressionWorkers : IDisposable
{
    private readonly BlockingCollection<Action> _jobs = new();
    private readonly Thread[] _threads;

    public CompressionWorkers(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _threads = new Thread[count];
        for (var i = 0; i < count; i++)
        {
            _threads[i] = new Thread(Work) { IsBackground = true, Name = $"nixery-gzip-{i}" };
            _threads[i].Start();
        }
    }

    public int Count => _threads.Length;

    /// <summary>Queues <paramref name="work"/>; the task completes with its result or its exception.</summary>
    public Task<T> Run<T>(Func<T> work)
    {
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _jobs.Add(() =>
        {
            try
            {
                completion.SetResult(work());
            }
            catch (Exception e)
            {
                completion.SetException(e);
            }
        });
        return completion.Task;
    }

    public void Dispose()
    {
        _jobs.CompleteAdding();
        foreach (var thread in _threads)
        {
            thread.Join();
        }

        _jobs.Dispose();
    }

    private void Work()
    {
        foreach (var job in _jobs.GetConsumingEnumerable())
        {
            job();
        }
    }
}

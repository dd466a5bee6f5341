using System.Collections.Concurrent;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// A fixed set of threads that compress chunks for every layer of a build. Dedicated threads, not the thread
/// pool: the layer writers block while they wait for their chunks, and blocked pool threads would starve the
/// very work they wait for. One instance per build; the threads start with the first job (a build that finds
/// every layer cached, or packs only small ones, starts none); disposing it waits for them to end.
/// </summary>
public sealed class CompressionWorkers : IDisposable
{
    private readonly BlockingCollection<Action> _jobs = new();
    private readonly Thread?[] _threads;
    private readonly Lock _start = new();
    private bool _started;

    public CompressionWorkers(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _threads = new Thread?[count];
    }

    public int Count => _threads.Length;

    /// <summary>Whether any job has been queued (and so the threads started).</summary>
    internal bool Started
    {
        get
        {
            lock (_start)
            {
                return _threads[0] is not null;
            }
        }
    }

    /// <summary>Queues <paramref name="work"/>; the task completes with its result or its exception.</summary>
    public Task<T> Run<T>(Func<T> work)
    {
        Start();
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
        lock (_start)
        {
            _started = true;
        }

        foreach (var thread in _threads)
        {
            thread?.Join();
        }

        _jobs.Dispose();
    }

    private void Start()
    {
        lock (_start)
        {
            if (_started)
            {
                return;
            }

            for (var i = 0; i < _threads.Length; i++)
            {
                var thread = new Thread(Work) { IsBackground = true, Name = $"nixery-gzip-{i}" };
                thread.Start();
                _threads[i] = thread;
            }

            _started = true;
        }
    }

    private void Work()
    {
        foreach (var job in _jobs.GetConsumingEnumerable())
        {
            job();
        }
    }
}

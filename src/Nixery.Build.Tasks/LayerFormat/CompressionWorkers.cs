using System.Collections.Concurrent;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// A fixed set of threads that compress chunks for every layer of a build. Dedicated threads, not the thread
/// pool: the layer writers block while they wait for their chunks, and blocked pool threads would starve the
/// very work they wait for. One instance per build; the threads start with the first job (a build that finds
/// every layer cached, or packs only small ones, starts none); disposing it waits for them to end.
/// It also bounds the chunks in flight across every layer written at once (<see cref="InFlightLimit"/>): a bound
/// per layer would let memory grow with the cores twice over, once for the layers written in parallel and once for
/// each one's queue.
/// </summary>
public sealed class CompressionWorkers : IDisposable
{
    private readonly BlockingCollection<Action> _jobs = new();
    private readonly Thread?[] _threads;
    private readonly Lock _start = new();
    private readonly SemaphoreSlim _inFlight;
    private bool _started;

    public CompressionWorkers(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _threads = new Thread?[count];
        _inFlight = new SemaphoreSlim(InFlightLimitFor(count));
        Buffers = new ChunkBuffers(2 * InFlightLimitFor(count));
    }

    /// <summary>The chunk and output buffers of the layers compressed on these workers.</summary>
    public ChunkBuffers Buffers { get; }

    public int Count => _threads.Length;

    /// <summary>
    /// How many chunks may be queued, compressing or waiting to be written at once, over all layers: one per thread
    /// and one more, so a thread that finishes finds the next chunk ready. Twice the threads measured no faster and
    /// cost a chunk and its output per extra slot (bench/README.md, "Memory").
    /// </summary>
    public int InFlightLimit => InFlightLimitFor(Count);

    /// <summary>Chunks holding a slot right now (for tests).</summary>
    internal int InFlight => InFlightLimit - _inFlight.CurrentCount;

    /// <summary>Waits for a slot for one more chunk; each call is paired with one <see cref="ReleaseSlot"/>.</summary>
    public void WaitForSlot() => _inFlight.Wait();

    /// <summary>Gives back a slot, once the chunk's compressed bytes are written (or dropped).</summary>
    public void ReleaseSlot() => _inFlight.Release();

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
        _inFlight.Dispose();
    }

    private static int InFlightLimitFor(int count) => count + 1;

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
                var thread = new Thread(Work) { IsBackground = true, Name = $"nixery-compress-{i}" };
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

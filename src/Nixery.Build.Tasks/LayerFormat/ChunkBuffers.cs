using System.Collections.Concurrent;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// The large buffers of one build's compression: chunks and their compressed output, reused for the build and let go
/// with it. Not <see cref="System.Buffers.ArrayPool{T}.Shared"/>: it rounds 1.1 MiB up to 2 MiB, and keeps an array
/// in the thread-local cache of each thread that returns one, so every layer's writer thread (one per layer) left a
/// buffer behind that only a full collection frees. Here arrays have the size asked for, are not cleared (every user
/// writes before it reads), and at most <see cref="Kept"/> of each size are kept.
/// </summary>
public sealed class ChunkBuffers(int kept)
{
    private readonly ConcurrentDictionary<int, ConcurrentBag<byte[]>> _free = new();

    /// <summary>How many arrays of one size are kept for reuse; more are left to the collector.</summary>
    public int Kept { get; } = kept;

    public byte[] Rent(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        return _free.TryGetValue(size, out var bag) && bag.TryTake(out var array)
            ? array
            : GC.AllocateUninitializedArray<byte>(size);
    }

    public void Return(byte[] array)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length == 0)
        {
            return;
        }

        var bag = _free.GetOrAdd(array.Length, _ => []);
        if (bag.Count < Kept)
        {
            bag.Add(array);
        }
    }
}

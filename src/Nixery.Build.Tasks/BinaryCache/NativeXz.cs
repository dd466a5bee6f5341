using System.Runtime.InteropServices;

namespace Nixery.Build.BinaryCache;

/// <summary>
/// xz through the system's liblzma, the library <c>xz -d</c> runs: about 1.5 times as fast as SharpCompress's managed
/// decoder (bench/README.md), and xz is what cache.nixos.org serves. The library is looked up at run time
/// (<see cref="NativeLibrary.TryLoad(string, out IntPtr)"/>) and called through function pointers, so where there is
/// none (Windows, a minimal image) nothing throws: <see cref="TryCreate"/> answers null and the caller falls back
/// to the managed decoder. The only unsafe code of the assembly; it stays this small.
/// </summary>
internal sealed unsafe class NativeXz : IDisposable
{
    /// <summary>
    /// The most memory one decoder may use. xz's largest preset (-9, -9e) needs 65 MiB to decode and Nix's default (-6)
    /// 9 MiB; an xz header may ask for a dictionary up to 4 GiB, and NARs are fetched several at once, so a hostile
    /// cache could otherwise make each decoder allocate gigabytes. 256 MiB leaves four times xz's own largest.
    /// </summary>
    public const ulong MemoryLimit = 256UL * 1024 * 1024;

    // liblzma's lzma_ret values (lzma/base.h) this code tells apart, its flag and its actions.
    private const int LzmaOk = 0;
    private const int LzmaStreamEnd = 1;
    private const int LzmaMemError = 5;
    private const int LzmaMemlimitError = 6;
    private const int LzmaFormatError = 7;
    private const int LzmaOptionsError = 8;
    private const int LzmaDataError = 9;
    private const int LzmaBufError = 10;
    private const uint LzmaConcatenated = 0x08;
    private const int LzmaRun = 0;
    private const int LzmaFinish = 3;

    private static readonly delegate* unmanaged<LzmaStream*, ulong, uint, int> StreamDecoder;
    private static readonly delegate* unmanaged<LzmaStream*, int, int> Code;
    private static readonly delegate* unmanaged<LzmaStream*, void> End;
    private static readonly delegate* unmanaged<LzmaStream*, ulong> MemUsage;

    private readonly StreamHandle _stream;

    static NativeXz()
    {
        string[] names = OperatingSystem.IsMacOS() ? ["liblzma.5.dylib", "liblzma.dylib"]
            : OperatingSystem.IsWindows() ? ["liblzma.dll"]
            : ["liblzma.so.5", "liblzma.so"];
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, out var library))
            {
                continue;
            }

            if (NativeLibrary.TryGetExport(library, "lzma_stream_decoder", out var decoder)
                && NativeLibrary.TryGetExport(library, "lzma_code", out var code)
                && NativeLibrary.TryGetExport(library, "lzma_end", out var end)
                && NativeLibrary.TryGetExport(library, "lzma_memusage", out var memUsage)
                && NativeLibrary.TryGetExport(library, "lzma_version_string", out var version))
            {
                StreamDecoder = (delegate* unmanaged<LzmaStream*, ulong, uint, int>)decoder;
                Code = (delegate* unmanaged<LzmaStream*, int, int>)code;
                End = (delegate* unmanaged<LzmaStream*, void>)end;
                MemUsage = (delegate* unmanaged<LzmaStream*, ulong>)memUsage;
                Version = Marshal.PtrToStringUTF8(((delegate* unmanaged<IntPtr>)version)());
                return;
            }

            NativeLibrary.Free(library);
        }
    }

    private NativeXz(StreamHandle stream) => _stream = stream;

    /// <summary>Whether this system has a liblzma to load.</summary>
    public static bool IsAvailable => StreamDecoder != null;

    /// <summary>The loaded liblzma's version (such as <c>5.4.1</c>), or null when there is none.</summary>
    public static string? Version { get; }

    /// <summary>The size of <c>lzma_stream</c> as this code lays it out (136 bytes on a 64-bit system).</summary>
    internal static int StreamSize => sizeof(LzmaStream);

    /// <summary>
    /// A decoder of xz streams written one after another (with null padding between them, as the xz format allows)
    /// as one, bounded by <see cref="MemoryLimit"/>; null when this system has no liblzma.
    /// </summary>
    public static NativeXz? TryCreate()
    {
        if (!IsAvailable)
        {
            return null;
        }

        var stream = new StreamHandle();
        var result = StreamDecoder(stream.Pointer, MemoryLimit, LzmaConcatenated);
        if (result != LzmaOk)
        {
            stream.Dispose();
            throw result == LzmaMemError
                ? new InsufficientMemoryException("liblzma could not allocate an xz decoder.")
                : new InvalidOperationException($"liblzma refused to start an xz decoder (lzma_ret {result}).");
        }

        return new NativeXz(stream);
    }

    /// <summary>
    /// Decodes from <paramref name="input"/> into <paramref name="output"/> (not empty) and says whether the data has
    /// ended. <paramref name="finish"/>: <paramref name="input"/> is the last there is (pass it empty, then, until
    /// the end). Corrupt data, data cut short and data over the memory limit are an <see cref="InvalidDataException"/>.
    /// </summary>
    public bool Decode(ReadOnlySpan<byte> input, bool finish, Span<byte> output, out int consumed, out int produced)
    {
        var added = false;
        _stream.DangerousAddRef(ref added);
        try
        {
            var stream = _stream.Pointer;
            int result;
            fixed (byte* from = input)
            fixed (byte* to = output)
            {
                stream->NextIn = from;
                stream->AvailIn = (nuint)input.Length;
                stream->NextOut = to;
                stream->AvailOut = (nuint)output.Length;
                result = Code(stream, finish ? LzmaFinish : LzmaRun);
                consumed = input.Length - (int)stream->AvailIn;
                produced = output.Length - (int)stream->AvailOut;
                stream->NextIn = null;
                stream->AvailIn = 0;
                stream->NextOut = null;
                stream->AvailOut = 0;
            }

            return result switch
            {
                LzmaOk => false,
                LzmaStreamEnd => true,
                LzmaMemError => throw new InsufficientMemoryException("liblzma ran out of memory decoding xz."),
                LzmaMemlimitError => throw new InvalidDataException(
                    $"the xz data needs {(MemUsage(stream) + (1024 * 1024) - 1) / (1024 * 1024)} MiB to decode, over the {MemoryLimit / (1024 * 1024)} MiB allowed (xz -9 needs 65 MiB)"),
                LzmaFormatError => throw new InvalidDataException("the data is not in the xz format"),
                LzmaOptionsError => throw new InvalidDataException("the xz data uses options liblzma does not support"),
                LzmaDataError => throw new InvalidDataException("the xz data is corrupt"),
                LzmaBufError => throw new InvalidDataException("the xz data ends too early"),
                _ => throw new InvalidDataException($"liblzma failed with lzma_ret {result}"),
            };
        }
        finally
        {
            if (added)
            {
                _stream.DangerousRelease();
            }
        }
    }

    public void Dispose() => _stream.Dispose();

    /// <summary>
    /// liblzma's <c>lzma_stream</c> (lzma/base.h), field for field: the pointers and <c>size_t</c>s are the platform's
    /// size, the reserved enums an int. All zeros is <c>LZMA_STREAM_INIT</c>.
    /// </summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct LzmaStream
    {
        public byte* NextIn;
        public nuint AvailIn;
        public ulong TotalIn;
        public byte* NextOut;
        public nuint AvailOut;
        public ulong TotalOut;
        public void* Allocator;
        public void* Internal;
        public void* ReservedPtr1;
        public void* ReservedPtr2;
        public void* ReservedPtr3;
        public void* ReservedPtr4;
        public ulong SeekPos;
        public ulong ReservedInt2;
        public nuint ReservedInt3;
        public nuint ReservedInt4;
        public int ReservedEnum1;
        public int ReservedEnum2;
    }

    /// <summary>
    /// An <c>lzma_stream</c> in native memory (liblzma's state hangs off it and must not move), ended and freed on
    /// dispose or, for a stream never disposed, by the finalizer.
    /// </summary>
    private sealed class StreamHandle : SafeHandle
    {
        public StreamHandle()
            : base(IntPtr.Zero, ownsHandle: true) =>
            SetHandle((IntPtr)NativeMemory.AllocZeroed((nuint)sizeof(LzmaStream)));

        public override bool IsInvalid => handle == IntPtr.Zero;

        public LzmaStream* Pointer => (LzmaStream*)handle;

        protected override bool ReleaseHandle()
        {
            // lzma_end frees the decoder's state; on a stream lzma_stream_decoder never started it does nothing.
            End(Pointer);
            NativeMemory.Free(Pointer);
            return true;
        }
    }
}

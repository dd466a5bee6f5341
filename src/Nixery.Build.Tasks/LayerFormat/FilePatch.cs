using System.Security.Cryptography;
using Nixery.Build.Streams;

namespace Nixery.Build.LayerFormat;

/// <summary>Bytes that replace the same number of bytes of a file, at <see cref="Offset"/>.</summary>
public readonly record struct FileEdit(long Offset, ReadOnlyMemory<byte> Bytes);

/// <summary>
/// Changes to a file's bytes, applied while the file is copied into a layer (the file on disk is left alone):
/// bytes replaced in place, then bytes added after its end. Small by construction (headers and tables, not data),
/// so a patched file still streams.
/// </summary>
public sealed class FilePatch
{
    public FilePatch(IEnumerable<FileEdit> edits, ReadOnlyMemory<byte> appended)
    {
        Edits = edits.OrderBy(e => e.Offset).ToList();
        for (var i = 1; i < Edits.Count; i++)
        {
            if (Edits[i].Offset < Edits[i - 1].Offset + Edits[i - 1].Bytes.Length)
            {
                throw new ArgumentException("File edits overlap.", nameof(edits));
            }
        }

        Appended = appended;
    }

    /// <summary>In-place replacements, by offset, not overlapping.</summary>
    public IReadOnlyList<FileEdit> Edits { get; }

    /// <summary>Bytes after the original end of the file.</summary>
    public ReadOnlyMemory<byte> Appended { get; }

    /// <summary>Hex SHA-256 of the edits and the appended bytes: what a cache key needs to know of the patch.</summary>
    public string Fingerprint()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> number = stackalloc byte[8];
        foreach (var edit in Edits)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(number, edit.Offset);
            hash.AppendData(number);
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(number, edit.Bytes.Length);
            hash.AppendData(number);
            hash.AppendData(edit.Bytes.Span);
        }

        hash.AppendData(Appended.Span);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>The patched bytes of <paramref name="original"/>, <paramref name="originalLength"/> long before patching.</summary>
    public Stream Apply(Stream original, long originalLength)
    {
        if (Edits.Count > 0 && Edits[^1].Offset + Edits[^1].Bytes.Length > originalLength)
        {
            throw new ArgumentException("A file edit reaches past the end of the file.", nameof(originalLength));
        }

        return new PatchedStream(original, originalLength, this);
    }

    /// <summary>Reads the original, overlays the edits on what it returns, then returns the appended bytes.</summary>
    private sealed class PatchedStream(Stream original, long originalLength, FilePatch patch) : ReadOnlyStream
    {
        private long _position;

        public override long Length => originalLength + patch.Appended.Length;

        protected override long BytesRead => _position;

        public override int Read(Span<byte> buffer)
        {
            int read;
            if (_position < originalLength)
            {
                read = original.Read(buffer[..(int)Math.Min(buffer.Length, originalLength - _position)]);
                if (read == 0)
                {
                    return 0; // the file is shorter than it was: the tar writer reports that
                }

                Overlay(buffer[..read]);
            }
            else
            {
                var start = (int)(_position - originalLength);
                read = Math.Min(buffer.Length, patch.Appended.Length - start);
                patch.Appended.Span.Slice(start, read).CopyTo(buffer);
            }

            _position += read;
            return read;
        }

        private void Overlay(Span<byte> chunk)
        {
            var end = _position + chunk.Length;
            foreach (var edit in patch.Edits)
            {
                var editEnd = edit.Offset + edit.Bytes.Length;
                if (editEnd <= _position || edit.Offset >= end)
                {
                    continue;
                }

                var from = Math.Max(edit.Offset, _position);
                var to = Math.Min(editEnd, end);
                edit.Bytes.Span.Slice((int)(from - edit.Offset), (int)(to - from)).CopyTo(chunk[(int)(from - _position)..]);
            }
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                original.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Nixery.Build.LayerFormat;

/// <summary>
/// Whether a path is a regular file, without opening it: opening a FIFO blocks until someone writes to it, and
/// .NET's file APIs do not tell a FIFO, socket or device from a file. Asks the kernel (<c>statx</c>, which has
/// one layout on every architecture) on Linux; elsewhere, or where the call is missing, everything that is not a
/// folder or a symlink counts as a file.
/// </summary>
public static class FileKind
{
    private const int CurrentDirectory = -100; // AT_FDCWD
    private const int NoFollow = 0x100; // AT_SYMLINK_NOFOLLOW
    private const uint TypeMask = 0x1; // STATX_TYPE
    private const int ModeOffset = 28; // struct statx: stx_mode
    private const int FileTypeBits = 0xF000; // S_IFMT
    private const int RegularFile = 0x8000; // S_IFREG

    public static bool IsRegularFile(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        var buffer = new byte[256];
        try
        {
            if (statx(CurrentDirectory, path, NoFollow, TypeMask, buffer) != 0)
            {
                return true; // gone or unreadable: the caller's own open reports that
            }
        }
        catch (EntryPointNotFoundException)
        {
            return true; // a C library older than glibc 2.28
        }

        return (BinaryPrimitives.ReadUInt16LittleEndian(buffer.AsSpan(ModeOffset)) & FileTypeBits) == RegularFile;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int statx(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);
}

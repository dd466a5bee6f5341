using System.Text;

namespace Nixery.Build.Tests.Support;

/// <summary>One 512-byte tar header exactly as written, PAX headers included, with the data that follows it.</summary>
public sealed record RawTarHeader(
    string Name,
    char TypeFlag,
    int Mode,
    long UserId,
    long GroupId,
    long Size,
    long ModificationTime,
    string LinkName,
    string Magic,
    string Version,
    string UserName,
    string GroupName,
    byte[] NameField,
    byte[] LinkNameField,
    byte[] Data);

/// <summary>
/// Reads tar headers byte by byte, without interpreting PAX records, so tests see every header the
/// writer produced (and its checksum is verified).
/// </summary>
public static class RawTar
{
    private const int Block = 512;

    public static List<RawTarHeader> Read(byte[] tar)
    {
        var headers = new List<RawTarHeader>();
        var offset = 0;
        while (offset + Block <= tar.Length)
        {
            var block = tar.AsSpan(offset, Block);
            if (!block.ContainsAnyExcept((byte)0))
            {
                break;
            }

            VerifyChecksum(block);
            var size = Octal(block[124..136]);
            var header = new RawTarHeader(
                Name: Text(block[..100]),
                TypeFlag: (char)block[156],
                Mode: (int)Octal(block[100..108]),
                UserId: Octal(block[108..116]),
                GroupId: Octal(block[116..124]),
                Size: size,
                ModificationTime: Octal(block[136..148]),
                LinkName: Text(block[157..257]),
                Magic: Encoding.ASCII.GetString(block[257..263]),
                Version: Encoding.ASCII.GetString(block[263..265]),
                UserName: Text(block[265..297]),
                GroupName: Text(block[297..329]),
                NameField: block[..100].ToArray(),
                LinkNameField: block[157..257].ToArray(),
                Data: tar.AsSpan(offset + Block, (int)size).ToArray());
            headers.Add(header);
            offset += Block + (int)((size + Block - 1) / Block * Block);
        }

        // The rest is the end-of-archive marker and padding: zeros only.
        Assert.False(tar.AsSpan(offset).ContainsAnyExcept((byte)0), "bytes after the end-of-archive marker");
        return headers;
    }

    private static void VerifyChecksum(ReadOnlySpan<byte> block)
    {
        long sum = 0;
        for (var i = 0; i < Block; i++)
        {
            sum += i is >= 148 and < 156 ? (byte)' ' : block[i];
        }

        Assert.Equal(sum, Octal(block[148..156]));
    }

    private static string Text(ReadOnlySpan<byte> field)
    {
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? field : field[..end]);
    }

    private static long Octal(ReadOnlySpan<byte> field)
    {
        var text = Encoding.ASCII.GetString(field).Trim('\0', ' ');
        return text.Length == 0 ? 0 : Convert.ToInt64(text, 8);
    }
}

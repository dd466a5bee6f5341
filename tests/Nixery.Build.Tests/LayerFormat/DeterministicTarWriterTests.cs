using System.Security.Cryptography;
using System.Text;
using Nixery.Build.LayerFormat;
using Nixery.Build.Settings;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.LayerFormat;

public sealed class DeterministicTarWriterTests : IDisposable
{
    // C# has no octal literals: 0444, 0555, 0755, 01777.
    private const int ReadOnlyFile = 0x124;
    private const int ReadOnlyExecutable = 0x16D;
    private const int Executable = 0x1ED;
    private const int StickyWorldWritable = 0x3FF;

    private const string UnicodeDirectory = "ünïcødé";
    private const string UnicodeName = "ünïcødé/日本語.txt";
    private const string StorePrefix = "/nix/store/00000000000000000000000000000000-";

    // 109 bytes: longer than ustar's 100-byte name field.
    private static readonly string LongName = "share/doc/" + new string('l', 60) + "/" + new string('m', 30) + "-end.txt";

    // 146 bytes and not ASCII.
    private static readonly string LongUnicodeTarget = StorePrefix + "ünïcødé/" + new string('x', 90);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void GoldenTarHasPinnedDigest()
    {
        // Pinned on purpose: any change in the bytes the writer produces must be noticed (and then
        // LayerWriter.FormatVersion bumped, since cached layers are keyed by it). The bytes were read
        // back with Python's tarfile and GNU tar (the tests below) before the digest was pinned.
        var digest = Convert.ToHexStringLower(SHA256.HashData(WriteGoldenTar()));

        Assert.Equal("520fe301c97ca32cc85795925ba8133df437d906f4077f691e6f6c88304164b7", digest);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("app/../../etc/passwd")]
    [InlineData("..")]
    [InlineData("app/./x")]
    [InlineData("a//b")]
    [InlineData("")]
    public void NameThatCouldLeaveTheUnpackFolderIsRefused(string name)
    {
        using var output = new MemoryStream();
        using var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch);

        Assert.Throws<ArgumentException>(() => tar.WriteDirectory(name, Executable));
        Assert.Throws<ArgumentException>(() => tar.WriteSymlink(name, "target"));
        Assert.Throws<ArgumentException>(() => tar.WriteFile(name, ReadOnlyFile, 0, new MemoryStream()));
    }

    [Fact]
    public void SameEntriesWrittenTwiceGiveIdenticalBytes()
    {
        Assert.Equal(WriteGoldenTar(), WriteGoldenTar());
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void GoldenTarReadsBackWithPythonTarfile()
    {
        var members = TarTools.ListWithPython(SaveTar(WriteGoldenTar()));

        Assert.Equal(
            [
                ('5', "etc", Executable, string.Empty),
                ('0', "etc/hello.txt", ReadOnlyFile, string.Empty),
                ('0', "bin-tool", ReadOnlyExecutable, string.Empty),
                ('2', "bin", 0x1FF, StorePrefix + "tool/bin"),
                ('5', "tmp", StickyWorldWritable, string.Empty),
                ('0', LongName, ReadOnlyFile, string.Empty),
                ('5', UnicodeDirectory, ReadOnlyExecutable, string.Empty),
                ('0', UnicodeName, ReadOnlyFile, string.Empty),
                ('2', "link-to-unicode", 0x1FF, LongUnicodeTarget),
            ],
            members.Select(m => (m.Type, m.Name, m.Mode, m.LinkName)));
        Assert.Equal("hello, nix\n", Text(members.Single(m => m.Name == "etc/hello.txt")));
        Assert.Equal("こんにちは\n", Text(members.Single(m => m.Name == UnicodeName)));
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void GoldenTarReadsBackWithGnuTar()
    {
        var members = TarTools.ListWithGnuTar(SaveTar(WriteGoldenTar()));

        Assert.Equal(
            [
                ("drwxr-xr-x", "etc/", null),
                ("-r--r--r--", "etc/hello.txt", null),
                ("-r-xr-xr-x", "bin-tool", null),
                ("lrwxrwxrwx", "bin", StorePrefix + "tool/bin"),
                ("drwxrwxrwt", "tmp/", null),
                ("-r--r--r--", LongName, null),
                ("dr-xr-xr-x", UnicodeDirectory + "/", null),
                ("-r--r--r--", UnicodeName, null),
                ("lrwxrwxrwx", "link-to-unicode", LongUnicodeTarget),
            ],
            members.Select(m => (m.Permissions, m.Name, m.LinkTarget)));
        Assert.All(members, m => Assert.Equal("0/0", m.Owner));
        Assert.All(members, m => Assert.Equal("1970-01-01 00:00:01", m.Time));
    }

    [Fact]
    public void EveryHeaderHasTheFixedTimeRootOwnerAndNoOwnerNames()
    {
        var headers = RawTar.Read(WriteGoldenTar());

        Assert.Contains(headers, h => h.TypeFlag == 'x');
        Assert.All(headers, h =>
        {
            Assert.Equal(1, h.ModificationTime);
            Assert.Equal(0, h.UserId);
            Assert.Equal(0, h.GroupId);
            Assert.Equal(string.Empty, h.UserName);
            Assert.Equal(string.Empty, h.GroupName);
            Assert.Equal("ustar\0", h.Magic);
            Assert.Equal("00", h.Version);
        });
    }

    [Fact]
    public void ModificationTimeIsTheGivenTimeInWholeSeconds()
    {
        var time = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000).AddMilliseconds(750);
        using var output = new MemoryStream();
        using (var tar = new DeterministicTarWriter(output, time))
        {
            tar.WriteDirectory("a", Executable);
            WriteText(tar, "a/b", ReadOnlyFile, "b");
            tar.WriteSymlink("c", "a/b");
            tar.Finish();
        }

        Assert.All(RawTar.Read(output.ToArray()), h => Assert.Equal(1_700_000_000, h.ModificationTime));
    }

    [Fact]
    public void DirectoryNamesEndWithSlashAndOthersDoNot()
    {
        var headers = RawTar.Read(WriteGoldenTar()).Where(h => h.TypeFlag != 'x').ToList();

        Assert.All(headers.Where(h => h.TypeFlag == '5'), h => Assert.EndsWith("/", h.Name, StringComparison.Ordinal));
        Assert.All(headers.Where(h => h.TypeFlag != '5'), h => Assert.False(h.Name.EndsWith('/'), h.Name));
        Assert.Equal(["etc/", "tmp/", "_n_c_d_/"], headers.Where(h => h.TypeFlag == '5').Select(h => h.Name));
    }

    [Fact]
    public void ModesAreKeptIncludingTheStickyBit()
    {
        var modes = RawTar.Read(WriteGoldenTar()).Where(h => h.TypeFlag != 'x').ToDictionary(h => h.Name, h => h.Mode, StringComparer.Ordinal);

        Assert.Equal(Executable, modes["etc/"]);
        Assert.Equal(ReadOnlyFile, modes["etc/hello.txt"]);
        Assert.Equal(ReadOnlyExecutable, modes["bin-tool"]);
        Assert.Equal(StickyWorldWritable, modes["tmp/"]);
        Assert.Equal(0x1FF, modes["bin"]);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void SymlinksStaySymlinksWithTheirTarget()
    {
        using var output = new MemoryStream();
        using (var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch))
        {
            tar.Write(new SymlinkEntry("lib64", "lib"));
            tar.Write(new SymlinkEntry("bin/sh", "/nix/store/abc-busybox/bin/busybox"));
            tar.Finish();
        }

        var path = SaveTar(output.ToArray());
        var extracted = _temp.CreateDirectory("extracted");
        TarTools.ExtractWithGnuTar(path, extracted);

        Assert.Equal("lib", new FileInfo(Path.Combine(extracted, "lib64")).LinkTarget);
        Assert.Equal("/nix/store/abc-busybox/bin/busybox", new FileInfo(Path.Combine(extracted, "bin/sh")).LinkTarget);
        Assert.All(RawTar.Read(output.ToArray()), h => Assert.Equal('2', h.TypeFlag));
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void LongAndNonAsciiNamesRoundTripThroughPaxWithPython()
    {
        var members = TarTools.ListWithPython(SaveTar(WriteGoldenTar()));

        Assert.Equal(LongName, members.Single(m => m.Name == LongName).PaxHeaders["path"]);
        Assert.Equal(UnicodeName, members.Single(m => m.Name == UnicodeName).PaxHeaders["path"]);
        Assert.Equal(LongUnicodeTarget, members.Single(m => m.Name == "link-to-unicode").PaxHeaders["linkpath"]);
        Assert.Empty(members.Single(m => m.Name == "etc/hello.txt").PaxHeaders);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void LongAndNonAsciiNamesRoundTripThroughPaxWithGnuTar()
    {
        var extracted = _temp.CreateDirectory("extracted");

        TarTools.ExtractWithGnuTar(SaveTar(WriteGoldenTar()), extracted);

        Assert.Equal("long\n", File.ReadAllText(Path.Combine(extracted, LongName)));
        Assert.Equal("こんにちは\n", File.ReadAllText(Path.Combine(extracted, UnicodeName)));
        Assert.Equal(LongUnicodeTarget, new FileInfo(Path.Combine(extracted, "link-to-unicode")).LinkTarget);
    }

    [Fact]
    public void UstarFallbackNamesAreAsciiAndFitTheField()
    {
        var headers = RawTar.Read(WriteGoldenTar());

        Assert.All(headers, h =>
        {
            Assert.True(Ascii.IsValid(h.NameField), h.Name);
            Assert.True(Ascii.IsValid(h.LinkNameField), h.LinkName);
        });
        var names = headers.Where(h => h.TypeFlag != 'x').Select(h => h.Name).ToList();
        Assert.Contains(LongName[..100], names);
        Assert.Contains("_n_c_d_/___.txt", names);
    }

    [Theory]
    [Trait("Category", "EndToEnd")]
    [InlineData(100, false)]
    [InlineData(101, true)]
    public void PaxIsUsedOnlyForNamesLongerThanTheUstarField(int length, bool expectPax)
    {
        var name = "d/" + new string('n', length - 2);
        using var output = new MemoryStream();
        using (var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch))
        {
            WriteText(tar, name, ReadOnlyFile, "x");
            tar.Finish();
        }

        var headers = RawTar.Read(output.ToArray());
        Assert.Equal(expectPax, headers.Any(h => h.TypeFlag == 'x'));
        Assert.Equal(name, Assert.Single(TarTools.ListWithGnuTar(SaveTar(output.ToArray()))).Name);
    }

    [Theory]
    [Trait("Category", "EndToEnd")]
    [InlineData(99, false)]
    [InlineData(100, true)]
    public void PaxIsUsedForDirectoriesWhoseNameWithSlashIsTooLong(int length, bool expectPax)
    {
        var name = "d/" + new string('n', length - 2);
        using var output = new MemoryStream();
        using (var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch))
        {
            tar.WriteDirectory(name, Executable);
            tar.Finish();
        }

        var headers = RawTar.Read(output.ToArray());
        Assert.Equal(expectPax, headers.Any(h => h.TypeFlag == 'x'));
        var directory = headers.Single(h => h.TypeFlag == '5');
        Assert.EndsWith("/", directory.Name, StringComparison.Ordinal);
        Assert.True(Encoding.UTF8.GetByteCount(directory.Name) <= 100);
        Assert.Equal(name + "/", Assert.Single(TarTools.ListWithGnuTar(SaveTar(output.ToArray()))).Name);
    }

    [Theory]
    // " path=" + value + "\n" is 7 bytes plus the value; the length prefix counts its own digits.
    [InlineData(1, "9 path=a\n")]
    [InlineData(2, "11 path=aa\n")]                 // body 9: "10" would make 11 bytes, so 11
    [InlineData(90, "99 path=")]                    // body 97 + 2 digits = 99
    [InlineData(91, "101 path=")]                   // body 98: "99" would be 100 bytes, "100" 101
    [InlineData(92, "102 path=")]
    public void PaxRecordLengthCountsItsOwnDigits(int valueLength, string expectedStart)
    {
        var record = DeterministicTarWriter.EncodePaxRecords([("path", new string('a', valueLength))]);

        var text = Encoding.UTF8.GetString(record);
        Assert.StartsWith(expectedStart, text, StringComparison.Ordinal);
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        Assert.Equal(int.Parse(text[..text.IndexOf(' ', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture), record.Length);
    }

    [Fact]
    public void PaxRecordLengthCountsUtf8BytesNotCharacters()
    {
        var record = DeterministicTarWriter.EncodePaxRecords([("path", "ü"), ("linkpath", "日本")]);

        Assert.Equal("11 path=ü\n19 linkpath=日本\n", Encoding.UTF8.GetString(record));
        Assert.Equal(11 + 19, record.Length);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public void NonAsciiNamesAtRecordLengthBoundariesRoundTrip()
    {
        // With one two-byte 'ü', names of these byte lengths put the PAX record on both sides of
        // 9/10 bytes (2, 3) and of 99/100 bytes (90 to 93), and around the ustar field (99 to 101).
        int[] byteLengths = [2, 3, 89, 90, 91, 92, 93, 99, 100, 101];
        var names = byteLengths.Select(n => "ü" + new string('a', n - 2)).ToList();
        var targets = byteLengths.Select(n => "ü" + new string('t', n - 2)).ToList();
        using var output = new MemoryStream();
        using (var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch))
        {
            for (var i = 0; i < names.Count; i++)
            {
                WriteText(tar, names[i], ReadOnlyFile, "x");
                tar.WriteSymlink($"link{i}", targets[i]);
            }

            tar.Finish();
        }

        var path = SaveTar(output.ToArray());
        var expectedNames = names.SelectMany((name, i) => new[] { name, $"link{i}" }).ToList();
        var python = TarTools.ListWithPython(path);
        Assert.Equal(expectedNames, python.Select(m => m.Name));
        Assert.Equal(targets, python.Where(m => m.Type == '2').Select(m => m.LinkName));
        var gnu = TarTools.ListWithGnuTar(path);
        Assert.Equal(expectedNames, gnu.Select(m => m.Name));
        Assert.Equal(targets, gnu.Where(m => m.LinkTarget is not null).Select(m => m.LinkTarget!));
    }

    [Fact]
    public void FileShorterThanDeclaredSizeFails()
    {
        using var output = new MemoryStream();

        // Disposing the writer (as every caller does) must not replace the IOException.
        var error = Assert.Throws<IOException>(() =>
        {
            using var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch);
            tar.WriteFile("short", ReadOnlyFile, 10, new MemoryStream(new byte[9]));
        });
        Assert.Contains("'short' ended after 9 of 10 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FileLongerThanDeclaredSizeFails()
    {
        using var output = new MemoryStream();

        var error = Assert.Throws<IOException>(() =>
        {
            using var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch);
            tar.WriteFile("long", ReadOnlyFile, 10, new MemoryStream(new byte[11]));
        });
        Assert.Contains("'long' grew beyond 10 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WritesAfterAFailedWriteAreRefused()
    {
        using var output = new MemoryStream();
        using var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch);
        Assert.Throws<IOException>(() => tar.WriteFile("short", ReadOnlyFile, 10, new MemoryStream(new byte[9])));

        Assert.Throws<InvalidOperationException>(() => tar.WriteDirectory("next", Executable));
    }

    [Fact]
    public void FileEntryThatChangedOnDiskFails()
    {
        var source = _temp.CreateFile("grown", "12345");
        using var output = new MemoryStream();

        Assert.Throws<IOException>(() =>
        {
            using var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch);
            tar.Write(new FileEntry("grown", ReadOnlyFile, source, 4));
        });
    }

    [Fact]
    public void FileEntryBytesComeFromItsSourcePath()
    {
        var source = _temp.CreateFile("source.txt", "from disk");
        using var output = new MemoryStream();
        using (var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch))
        {
            tar.Write(new FileEntry("app/file.txt", ReadOnlyFile, source, 9));
            tar.Finish();
        }

        var header = Assert.Single(RawTar.Read(output.ToArray()));
        Assert.Equal("app/file.txt", header.Name);
        Assert.Equal("from disk", Encoding.UTF8.GetString(header.Data));
    }

    /// <summary>
    /// The small fixed tar whose bytes are pinned above: a folder, a read-only file, an executable,
    /// a symlink, /tmp, a long name, a non-ASCII folder and file, and a long non-ASCII symlink target.
    /// </summary>
    private static byte[] WriteGoldenTar()
    {
        using var output = new MemoryStream();
        using (var tar = new DeterministicTarWriter(output, ImageDefaults.Epoch))
        {
            tar.WriteDirectory("etc", Executable);
            WriteText(tar, "etc/hello.txt", ReadOnlyFile, "hello, nix\n");
            WriteText(tar, "bin-tool", ReadOnlyExecutable, "#!/bin/sh\necho hi\n");
            tar.WriteSymlink("bin", StorePrefix + "tool/bin");
            tar.WriteDirectory("tmp", StickyWorldWritable);
            WriteText(tar, LongName, ReadOnlyFile, "long\n");
            tar.WriteDirectory(UnicodeDirectory, ReadOnlyExecutable);
            WriteText(tar, UnicodeName, ReadOnlyFile, "こんにちは\n");
            tar.WriteSymlink("link-to-unicode", LongUnicodeTarget);
            tar.Finish();
        }

        return output.ToArray();
    }

    private static void WriteText(DeterministicTarWriter tar, string path, int mode, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        tar.WriteFile(path, mode, bytes.Length, new MemoryStream(bytes));
    }

    private static string Text(PythonTarMember member) => Encoding.UTF8.GetString(Convert.FromHexString(member.ContentHex!));

    private string SaveTar(byte[] bytes)
    {
        var path = _temp.Combine($"{Guid.NewGuid():N}.tar");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}

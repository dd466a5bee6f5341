using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Nixery.Build.BinaryCache;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Settings;
using Nixery.Build.Tests.EndToEnd;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.BinaryCache;

/// <summary>
/// Binary caches as hostile input (issue 23): narinfos signed by the trusted key whose unsigned fields (URL,
/// Compression, FileSize, FileHash) lead elsewhere, NARs that decompress past their size, caches that stall. Each
/// ends in a coded error, reads no host file, writes no more than the NAR's size, and waits no longer than the timeout.
/// </summary>
public sealed partial class NarFetcherTests
{
    private static string WithLine(string text, string key, string value) =>
        Regex.Replace(text, $"^{key}: .*$", $"{key}: {value}", RegexOptions.Multiline);

    private NarFetcher Fetcher(Uri cache, TimeSpan timeout, HttpMessageHandler? handler = null) => new(
        new BinaryCacheSettings([cache], [TrustedKey.Parse(Trusted.PublicKeyText)], timeout),
        Blobs,
        _log,
        handler);

    private async Task<NixImageException> FailsAsync(Uri cache, string code, Locked? path = null, TimeSpan? timeout = null)
    {
        var fetch = FetchAsync(Fetcher(cache, timeout ?? TimeSpan.FromSeconds(30)), [(path ?? HelloPath).Info]);
        var finished = await Task.WhenAny(fetch, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(finished == fetch, "the fetch hangs");
        var error = await Assert.ThrowsAsync<NixImageException>(() => fetch);
        Assert.True(error.Code == code, error.Message);
        Assert.Empty(Blobs.Enumerate());
        AssertNoTemporaryFiles();
        return error;
    }

    /// <summary>The host file a hostile URL reaches for: its size and SHA-256 must appear nowhere.</summary>
    private static void AssertNothingOf(string hostFile, NixImageException error)
    {
        var bytes = File.ReadAllBytes(hostFile);
        Assert.DoesNotContain(Convert.ToHexStringLower(SHA256.HashData(bytes)), error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(NixBase32.Encode(SHA256.HashData(bytes)), error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain($"{bytes.Length} bytes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("../../../../../../../../etc/passwd")]
    [InlineData("nar/../../../../../../../../etc/passwd")]
    [InlineData("file:///etc/passwd")]
    public async Task AFileCacheNarinfoWhoseUrlLeavesTheFolderIsNiximg050AndReadsNothing(string url)
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath, editText: t => WithLine(t, "URL", url));

        var error = await FailsAsync(FileCache(cache), "NIXIMG050");

        Assert.Contains($"The narinfo of {Hello} in file://{cache} names a NAR file that is not one inside the cache", error.Message, StringComparison.Ordinal);
        Assert.Contains("leaves the cache", error.Message, StringComparison.Ordinal);
        AssertNothingOf("/etc/passwd", error);
    }

    [Fact]
    public async Task TheRightNarBesideTheCacheFolderIsRefusedToo()
    {
        var cache = NewCache("cache");
        var beside = NewCache("beside");
        File.WriteAllBytes(Path.Combine(beside, "hello.nar"), HelloPath.Nar);
        Publish(cache, HelloPath, editText: t => WithLine(t, "URL", "../beside/hello.nar"));

        var error = await FailsAsync(FileCache(cache), "NIXIMG050");

        Assert.Contains("'../beside/hello.nar' leaves the cache", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("/dev/zero")]
    [InlineData("../../beside")]
    public async Task ASymlinkInTheCacheThatLeavesItIsNiximg050(string target)
    {
        var cache = NewCache("cache");
        NewCache("beside");
        Publish(cache, HelloPath);
        var nar = Directory.GetFiles(Path.Combine(cache, "nar")).Single();
        File.Delete(nar);
        File.CreateSymbolicLink(nar, target);

        var error = await FailsAsync(FileCache(cache), "NIXIMG050");

        Assert.Contains("leaves the cache (through a symlink)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFolderOfTheCacheThatIsASymlinkOutIsNiximg050()
    {
        var cache = NewCache("cache");
        var elsewhere = NewCache("elsewhere");
        Publish(elsewhere, HelloPath);
        Publish(cache, HelloPath);
        Directory.Delete(Path.Combine(cache, "nar"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(cache, "nar"), Path.Combine(elsewhere, "nar"));

        var error = await FailsAsync(FileCache(cache), "NIXIMG050");

        Assert.Contains("through a symlink", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASymlinkThatStaysInsideTheCacheIsFollowed()
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath);
        var nar = Directory.GetFiles(Path.Combine(cache, "nar")).Single();
        Directory.CreateDirectory(Path.Combine(cache, "store"));
        File.Move(nar, Path.Combine(cache, "store", "hello.nar"));
        File.CreateSymbolicLink(nar, "../store/hello.nar");

        await FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]);

        Assert.True(Blobs.Contains(HelloPath.Digest, HelloPath.Nar.Length));
    }

    [Fact]
    public async Task ACacheFolderReachedThroughASymlinkWorks()
    {
        var cache = NewCache("cache");
        PublishAll(cache);
        var link = _temp.Combine("link-to-cache");
        Directory.CreateSymbolicLink(link, cache);

        await FetchAsync(Fetcher([FileCache(link)]));

        AssertEveryNarIsStoredUnderItsHash();
    }

    [Theory]
    [Trait("Category", "EndToEnd")]
    [InlineData("fifo")]
    [InlineData("folder")]
    [InlineData("socket")]
    public async Task ANarThatIsNotARegularFileIsRefusedBeforeItIsOpened(string kind)
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath);
        var nar = Directory.GetFiles(Path.Combine(cache, "nar")).Single();
        File.Delete(nar);
        using var socket = MakeSpecial(kind, nar);

        var error = await FailsAsync(FileCache(cache), "NIXIMG050");

        Assert.Contains(kind == "folder" ? "is a folder, not a file" : "is not a regular file (a FIFO, socket or device)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task ANarinfoThatIsAFifoIsRefusedBeforeItIsOpened()
    {
        var cache = NewCache("cache");
        Command.Run("mkfifo", [Path.Combine(cache, HelloPath.HashPart + ".narinfo")]).EnsureSuccess();

        var error = await FailsAsync(FileCache(cache), "NIXIMG050");

        Assert.Contains("is not a regular file", error.Message, StringComparison.Ordinal);
        Assert.Contains("Nothing was read from it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANarinfoThatLinksToAHostFileIsRefused()
    {
        var cache = NewCache("cache");
        File.CreateSymbolicLink(Path.Combine(cache, HelloPath.HashPart + ".narinfo"), "/etc/passwd");

        var error = await FailsAsync(FileCache(cache), "NIXIMG050");

        Assert.Contains("through a symlink", error.Message, StringComparison.Ordinal);
        AssertNothingOf("/etc/passwd", error);
    }

    [Theory]
    [InlineData("../other/x.nar")]
    [InlineData("nar/../../other/x.nar")]
    [InlineData("%2e%2e/other/x.nar")]
    [InlineData("nar/%2E%2E/%2e%2e/other/x.nar")]
    [InlineData("/other/x.nar")]
    [InlineData("http://other.test/nix/x.nar")]
    [InlineData("//other.test/x.nar")]
    public async Task AnHttpCacheFetchesNothingOutsideItsUrl(string url)
    {
        var folder = NewCache("served");
        Directory.CreateDirectory(Path.Combine(folder, "nix"));
        Publish(Path.Combine(folder, "nix"), HelloPath, editText: t => WithLine(t, "URL", url));
        using var handler = new FolderHandler(new Dictionary<string, string> { ["cache.test"] = folder, ["other.test"] = folder });

        var error = await FailsAsync(new Uri("https://cache.test/nix"), "NIXIMG050");

        Assert.Contains("leaves the cache", error.Message, StringComparison.Ordinal);
        Assert.All(handler.Requests, r => Assert.StartsWith("https://cache.test/nix/", r.AbsoluteUri, StringComparison.Ordinal));

        async Task<NixImageException> FailsAsync(Uri cache, string code)
        {
            var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher(cache, TimeSpan.FromSeconds(30), handler), [HelloPath.Info]));
            Assert.True(error.Code == code, error.Message);
            return error;
        }
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task AnXzBombStopsAtTheNarSize()
    {
        var cache = NewCache("cache");
        var zeros = 256L << 20;
        var bomb = _temp.Combine("bomb.xz");
        Command.Run("bash", ["-c", $"head -c {zeros} /dev/zero | xz -0 -T1 > {bomb}"]).EnsureSuccess();
        Assert.True(new FileInfo(bomb).Length < (1 << 20));
        Publish(cache, HelloPath, compression: "xz", narFile: File.ReadAllBytes(bomb));
        var written = WatchTemporaryFiles();

        var error = await FailsAsync(FileCache(cache), "NIXIMG051");

        Assert.Contains($"it decompresses to more than its NarSize of {HelloPath.Nar.Length} bytes", error.Message, StringComparison.Ordinal);
        Assert.True(await written <= HelloPath.Nar.Length, $"{await written} bytes written");
    }

    [Fact]
    public async Task ANarWithoutFileSizeStopsAtWhatItsNarSizeAllows()
    {
        var cache = NewCache("cache");
        var endless = new byte[(int)DeclaredFileStream.UndeclaredLimit(HelloPath.Nar.Length) + 4096];
        HelloPath.Nar.CopyTo(endless, 0);
        Publish(cache, HelloPath, narFile: endless, editText: t => WithLine(WithLine(t, "FileSize", string.Empty), "FileHash", string.Empty));

        var error = await FailsAsync(FileCache(cache), "NIXIMG051");

        Assert.Contains("NarSize", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("larger")]
    [InlineData("smaller")]
    [InlineData("hash")]
    public async Task TheCompressedFileIsHeldToItsFileSizeAndFileHash(string lie)
    {
        var cache = NewCache("cache");
        var gzip = Compress(HelloPath.Nar, "gzip");
        Publish(cache, HelloPath, compression: "gzip", editText: t => lie switch
        {
            "larger" => WithLine(t, "FileSize", (gzip.Length - 5).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            "smaller" => WithLine(t, "FileSize", (gzip.Length + 5).ToString(System.Globalization.CultureInfo.InvariantCulture)),
            _ => WithLine(t, "FileHash", "sha256:" + NixBase32.Encode(SHA256.HashData("other"u8))),
        });

        var error = await FailsAsync(FileCache(cache), "NIXIMG051");

        Assert.Contains(
            lie switch
            {
                "larger" => $"the compressed NAR runs past its FileSize of {gzip.Length - 5} bytes",
                "smaller" => $"its narinfo's FileSize {gzip.Length + 5}",
                _ => "the compressed NAR's SHA-256 is not its narinfo's FileHash",
            },
            error.Message,
            StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hex")]
    [InlineData("sri")]
    public async Task AFileHashInHexOrSriIsCheckedToo(string form)
    {
        var cache = NewCache("cache");
        var hash = NarHash.FromBytes(SHA256.HashData(HelloPath.Nar));
        Publish(cache, HelloPath, editText: t => WithLine(t, "FileHash", form == "hex" ? "sha256:" + hash.Hex : hash.Sri));

        await FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]);

        Assert.True(Blobs.Contains(HelloPath.Digest, HelloPath.Nar.Length));
    }

    [Fact]
    public async Task AFileHashThatIsNotAHashIsNiximg051()
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath, editText: t => WithLine(t, "FileHash", "md5:abc"));

        var error = await FailsAsync(FileCache(cache), "NIXIMG051");

        Assert.Contains("has FileHash 'md5:abc', which is not a SHA-256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANarinfoOver64KiBIsNotRead()
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath, editText: t => t + "X-Padding: " + new string('x', 70 * 1024) + "\n");

        var error = await FailsAsync(FileCache(cache), "NIXIMG049");

        Assert.Contains("its narinfo cannot be read (it is larger than 64 KiB)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(".narinfo", "NIXIMG049")]
    [InlineData(".nar", "NIXIMG051")]
    public async Task ACacheThatSendsHeadersThenStallsEndsWithinTheTimeout(string stallOn, string code)
    {
        var folder = NewCache("served");
        Publish(folder, HelloPath);
        using var server = new StallingServer(folder, stallOn);
        var clock = Stopwatch.StartNew();

        // 8 s: the progress line comes from a 2 s timer once 1.5 s passed without a byte, so on a busy machine (the
        // narinfo itself arriving late) a 5 s timeout could end the fetch before any tick saw the stall.
        var error = await FailsAsync(new Uri(server.Url), code, timeout: TimeSpan.FromSeconds(8));

        Assert.InRange(clock.Elapsed.TotalSeconds, 7, 25);
        Assert.Contains(server.Url, error.Message, StringComparison.Ordinal);
        Assert.Contains("sent nothing for 8 s (NixImageRegistryTimeout)", error.Message, StringComparison.Ordinal);
        Assert.Contains(_log.Lines, l => l.StartsWith($"binary cache: waiting for {Hello} from {server.Url}: nothing received for", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(".narinfo", "NIXIMG049", "its narinfo could not be read whole")]
    [InlineData(".nar", "NIXIMG051", "could not be read whole")]
    public async Task ACacheThatBreaksOffItsAnswerIsACodedError(string breakOn, string code, string said)
    {
        var folder = NewCache("served");
        Publish(folder, HelloPath);
        using var server = new StallingServer(folder, breakOn, breakOff: true);

        var error = await FailsAsync(new Uri(server.Url), code, timeout: TimeSpan.FromSeconds(30));

        Assert.Contains(said, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALayerCacheThatCannotBeWrittenIsNiximg012AndNoOtherCacheIsAsked()
    {
        var first = NewCache("first");
        var second = NewCache("second");
        Publish(first, HelloPath);
        Publish(second, HelloPath);
        Directory.CreateDirectory(Blobs.Root);
        File.WriteAllText(Path.Combine(Blobs.Root, "tmp"), "a file where the temporary folder belongs");

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(first), FileCache(second)]), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.WriteFailed, error.Code);
        Assert.Contains("Check free space and permissions of NixImageCacheDirectory", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(second, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "EndToEnd")]
    public async Task AFullDiskWhileWritingANarIsNiximg012()
    {
        Assert.True(Environment.UserName == "root", "mounting a small tmpfs needs root, as the README's test command runs");
        var cache = NewCache("cache");
        var big = new Locked("/nix/store/66666666666666666666666666666666-big", NarWriter.Write(new NarFile(RandomNumberGenerator.GetBytes(2 << 20))), []);
        Publish(cache, big);
        Directory.CreateDirectory(Blobs.Root);
        Command.Run("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", Blobs.Root]).EnsureSuccess();
        try
        {
            var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(cache)]), [big.Info]));

            Assert.Equal(ErrorCodes.WriteFailed, error.Code);
            Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
            AssertNoTemporaryFiles();
        }
        finally
        {
            Command.Run("umount", [Blobs.Root]).EnsureSuccess();
        }
    }

    [Theory]
    [InlineData("..")]
    [InlineData(".")]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a\0b")]
    public async Task ANarWithAnEntryThatIsNotAFileNameIsNiximg051WhenRead(string name)
    {
        var cache = NewCache("cache");
        var bad = new Locked("/nix/store/77777777777777777777777777777777-bad", NarWriter.Write(new NarDirectory(new NarEntry(name, new NarFile("x")))), []);
        Publish(cache, bad);

        var store = await FetchAsync(Fetcher([FileCache(cache)]), [bad.Info]);
        var error = Assert.Throws<NixImageException>(() => store.Entries(bad.StorePath).ToList());

        Assert.Equal(ErrorCodes.NarUnusable, error.Code);
        Assert.Contains($"The NAR of {bad.StorePath} is not a well-formed NAR", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://builder:s3cr3tpw@cache.test/nix")]
    [InlineData("https://builder@cache.test/nix")]
    [InlineData("https://cache.test/nix;http://builder:s3cr3tpw@mirror.test/")]
    public void ACacheUrlWithCredentialsIsNiximg052WithoutThem(string setting)
    {
        var error = Assert.Throws<NixImageException>(() => NixModeSettings.Caches(setting));

        Assert.Equal(ErrorCodes.InvalidBinaryCacheSetting, error.Code);
        Assert.Contains("a URL with a user name or password in it", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3tpw", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("builder", error.Message, StringComparison.Ordinal);
    }

    private static System.Net.Sockets.Socket? MakeSpecial(string kind, string path)
    {
        switch (kind)
        {
            case "fifo":
                Command.Run("mkfifo", [path]).EnsureSuccess();
                return null;
            case "folder":
                Directory.CreateDirectory(path);
                return null;
            default:
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                socket.Bind(new System.Net.Sockets.UnixDomainSocketEndPoint(path));
                return socket;
        }
    }

    /// <summary>The most bytes any temporary file of the layer cache held while the fetch ran (polled).</summary>
    private Task<long> WatchTemporaryFiles()
    {
        var temporary = Path.Combine(Blobs.Root, "tmp");
        return Task.Run(async () =>
        {
            long most = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(5))
            {
                if (Directory.Exists(temporary))
                {
                    foreach (var file in new DirectoryInfo(temporary).EnumerateFiles())
                    {
                        try
                        {
                            most = Math.Max(most, file.Length);
                        }
                        catch (FileNotFoundException)
                        {
                        }
                    }
                }

                await Task.Delay(1);
            }

            return most;
        });
    }

    /// <summary>
    /// Serves a folder, but for the file whose name ends with <c>stallOn</c> sends headers and 16 bytes of a 1 MiB body,
    /// then nothing (or, breaking off, closes the connection).
    /// </summary>
    private sealed class StallingServer : LoopbackHttpServer
    {
        private readonly string _root;
        private readonly string _stallOn;
        private readonly bool _breakOff;
        private readonly CancellationTokenSource _stop = new();

        public StallingServer(string root, string stallOn, bool breakOff = false)
        {
            _root = root;
            _stallOn = stallOn;
            _breakOff = breakOff;
            Start();
        }

        public string Url => $"http://127.0.0.1:{Port}";

        public new void Dispose()
        {
            _stop.Cancel();
            base.Dispose();
            _stop.Dispose();
        }

        protected override async Task AnswerAsync(HttpListenerContext context)
        {
            var relative = Uri.UnescapeDataString(context.Request.Url!.AbsolutePath).TrimStart('/');
            var path = Path.Combine(_root, relative);
            try
            {
                if (!File.Exists(path))
                {
                    context.Response.StatusCode = 404;
                    return;
                }

                var bytes = await File.ReadAllBytesAsync(path);
                if (relative.EndsWith(_stallOn, StringComparison.Ordinal))
                {
                    context.Response.ContentLength64 = 1 << 20;
                    await context.Response.OutputStream.WriteAsync(bytes.AsMemory(0, Math.Min(16, bytes.Length)));
                    await context.Response.OutputStream.FlushAsync();
                    try
                    {
                        await Task.Delay(_breakOff ? TimeSpan.FromMilliseconds(100) : Timeout.InfiniteTimeSpan, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    context.Response.Abort();
                    return;
                }

                context.Response.ContentLength64 = bytes.Length;
                await context.Response.OutputStream.WriteAsync(bytes);
            }
            finally
            {
                context.Response.Close();
            }
        }
    }
}

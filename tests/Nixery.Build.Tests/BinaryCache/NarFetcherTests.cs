using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Nixery.Build.BinaryCache;
using Nixery.Build.Cache;
using Nixery.Build.Diagnostics;
using Nixery.Build.LayerFormat;
using Nixery.Build.Layers;
using Nixery.Build.Nix;
using Nixery.Build.Oci;
using Nixery.Build.Settings;
using Nixery.Build.Sources;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.BinaryCache;

/// <summary>
/// <see cref="NarFetcher"/> against binary caches made here: NARs from <see cref="NarWriter"/>, narinfo files written
/// by the test and signed with an Ed25519 key of its own over Nix's fingerprint, served from a folder (<c>file://</c>)
/// or through an <see cref="HttpMessageHandler"/> that reads the same folder.
/// </summary>
public sealed partial class NarFetcherTests : IDisposable
{
    private const string Glibc = "/nix/store/00000000000000000000000000000000-glibc-2.39-52";
    private const string Hello = "/nix/store/11111111111111111111111111111111-hello-2.12.1";
    private const string Cacert = "/nix/store/22222222222222222222222222222222-ca-bundle.crt";

    private static readonly SigningKey Trusted = new("test-cache-1", RandomNumberGenerator.GetBytes(32));
    private static readonly SigningKey Stranger = new("other-cache-1", RandomNumberGenerator.GetBytes(32));

    private readonly TempDirectory _temp = new("nar-fetcher");
    private readonly RecordingLog _log = new();

    public NarFetcherTests()
    {
        // The layer cache's blob store, where a build without Nix keeps the NARs.
        Blobs = new LayerCache(_temp.Combine("layer-cache")).Blobs;
    }

    private BlobStore Blobs { get; }

    /// <summary>A store path of the closure: its NAR and what the lock says of it.</summary>
    private sealed record Locked(string StorePath, byte[] Nar, IReadOnlyList<string> References)
    {
        public NarHash Hash => NarHash.FromBytes(SHA256.HashData(Nar));

        public StorePathInfo Info => new(StorePath, Nar.Length, References, Hash);

        public string HashPart => Path.GetFileName(StorePath).Split('-', 2)[0];

        public Digest Digest => Digest.Parse(Hash.Digest);
    }

    /// <summary>What a narinfo says of a path (what its signature covers).</summary>
    private sealed record Fields(string StorePath, string NarHash, long NarSize, IReadOnlyList<string> References);

    // hello refers to itself and glibc (listed unsorted, as the lock may get them); glibc is a folder; the CA bundle a file.
    private static readonly Locked GlibcPath = new(
        Glibc,
        NarWriter.Write(new NarDirectory(new NarEntry("lib", new NarDirectory(
            new NarEntry("libc.so.6", new NarFile("\u007fELF libc", executable: true)),
            new NarEntry("libm.so.6", new NarSymlink("libc.so.6")))))),
        [Glibc]);

    private static readonly Locked HelloPath = new(
        Hello,
        NarWriter.Write(new NarDirectory(new NarEntry("bin", new NarDirectory(new NarEntry("hello", new NarFile("#!/bin/sh\necho hello\n", executable: true)))))),
        [Hello, Glibc]);

    private static readonly Locked CacertPath = new(Cacert, NarWriter.Write(new NarFile("-----BEGIN CERTIFICATE-----\n")), []);

    private static readonly Locked[] Closure = [GlibcPath, HelloPath, CacertPath];

    private static IReadOnlyCollection<StorePathInfo> Lock => Closure.Select(p => p.Info).ToList();

    private string NewCache(string name) => _temp.CreateDirectory(name);

    private static Uri FileCache(string folder) => BinaryCacheClient.ParseCache("file://" + folder)!;

    private NarFetcher Fetcher(IReadOnlyList<Uri> caches, HttpMessageHandler? handler = null, IReadOnlyList<SigningKey>? trusted = null) => new(
        new BinaryCacheSettings(caches, (trusted ?? [Trusted]).Select(k => TrustedKey.Parse(k.PublicKeyText)).ToList(), TimeSpan.FromSeconds(30)),
        Blobs,
        _log,
        handler);

    /// <summary>
    /// Puts <paramref name="path"/> into the cache folder: its NAR (compressed as said, or <paramref name="narFile"/> as
    /// given) under <c>nar/</c>, and a narinfo signed by <paramref name="key"/> (none: unsigned) over its fields, which
    /// <paramref name="edit"/> may change first.
    /// </summary>
    private static void Publish(
        string cache,
        Locked path,
        Func<Fields, Fields>? edit = null,
        string compression = "none",
        SigningKey? key = null,
        bool signed = true,
        byte[]? narFile = null,
        bool writeNar = true,
        Func<string, string>? editText = null)
    {
        var fields = new Fields(path.StorePath, path.Hash.ToString(), path.Nar.Length, path.References.Distinct().Order(StringComparer.Ordinal).ToList());
        fields = edit?.Invoke(fields) ?? fields;
        var bytes = narFile ?? Compress(path.Nar, compression);
        var extension = compression switch { "gzip" => ".nar.gz", "none" => ".nar", _ => ".nar." + compression };
        var url = $"nar/{Convert.ToHexStringLower(SHA256.HashData(bytes))}{extension}";
        if (writeNar)
        {
            Directory.CreateDirectory(Path.Combine(cache, "nar"));
            File.WriteAllBytes(Path.Combine(cache, url), bytes);
        }

        var text = new StringBuilder()
            .Append("StorePath: ").Append(fields.StorePath).Append('\n')
            .Append("URL: ").Append(url).Append('\n')
            .Append("Compression: ").Append(compression).Append('\n')
            .Append("FileHash: sha256:").Append(NixBase32.Encode(SHA256.HashData(bytes))).Append('\n')
            .Append("FileSize: ").Append(bytes.Length).Append('\n')
            .Append("NarHash: ").Append(fields.NarHash).Append('\n')
            .Append("NarSize: ").Append(fields.NarSize).Append('\n')
            .Append("References: ").AppendJoin(' ', fields.References.Select(Path.GetFileName)).Append('\n')
            .Append("Deriver: 33333333333333333333333333333333-").Append(Path.GetFileName(path.StorePath)[33..]).Append(".drv\n");
        if (signed)
        {
            var signer = key ?? Trusted;
            var fingerprint = $"1;{fields.StorePath};{fields.NarHash};{fields.NarSize};{string.Join(',', fields.References)}";
            text.Append("Sig: ").Append(signer.Name).Append(':').Append(Convert.ToBase64String(signer.Sign(Encoding.UTF8.GetBytes(fingerprint)))).Append('\n');
        }

        File.WriteAllText(Path.Combine(cache, path.HashPart + ".narinfo"), editText?.Invoke(text.ToString()) ?? text.ToString());
    }

    private static void PublishAll(string cache, string compression = "none")
    {
        foreach (var path in Closure)
        {
            Publish(cache, path, compression: compression);
        }
    }

    private static byte[] Compress(byte[] nar, string compression)
    {
        if (compression == "xz")
        {
            return XzCompress(nar);
        }

        if (compression != "gzip")
        {
            return nar;
        }

        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(nar);
        }

        return buffer.ToArray();
    }

    private void AssertEveryNarIsStoredUnderItsHash()
    {
        foreach (var path in Closure)
        {
            Assert.True(Blobs.Contains(path.Digest, path.Nar.Length), path.StorePath);
            Assert.Equal(path.Nar, File.ReadAllBytes(Blobs.PathOf(path.Digest)));
            Assert.Equal(path.Hash.Hex, path.Digest.Hex);
        }

        Assert.Equal(Closure.Length, Blobs.Enumerate().Count());
        AssertNoTemporaryFiles();
    }

    private void AssertNoTemporaryFiles()
    {
        var temporary = Path.Combine(Blobs.Root, "tmp");
        Assert.Empty(Directory.Exists(temporary) ? Directory.EnumerateFileSystemEntries(temporary) : []);
    }

    private static void AssertTheStoreReadsTheClosure(NarStore store)
    {
        Assert.Equal(
            [Glibc[1..], Glibc[1..] + "/lib", Glibc[1..] + "/lib/libc.so.6", Glibc[1..] + "/lib/libm.so.6"],
            store.Entries(Glibc).Select(e => e.Path));
        var hello = store.Entries(Hello).OfType<FileEntry>().Single();
        Assert.Equal(Hello[1..] + "/bin/hello", hello.Path);
        Assert.Equal("#!/bin/sh\necho hello\n", Encoding.UTF8.GetString(File.ReadAllBytes(hello.SourcePath).AsSpan((int)hello.Offset, (int)hello.Size)));
        Assert.Equal(Cacert[1..], store.Entries(Cacert).Single().Path);
        Assert.Equal(StoreNodeKind.Symlink, store.Stat(Glibc + "/lib/libm.so.6")?.Kind);
    }

    private static Task<NarStore> FetchAsync(NarFetcher fetcher, IReadOnlyCollection<StorePathInfo>? paths = null) =>
        fetcher.FetchAsync(paths ?? Lock, CancellationToken.None);

    [Fact]
    public async Task AColdFetchStoresEachNarUnderItsNarHashAndReadsThemAsAStore()
    {
        var cache = NewCache("cache");
        PublishAll(cache);

        var store = await FetchAsync(Fetcher([FileCache(cache)]));

        AssertEveryNarIsStoredUnderItsHash();
        AssertTheStoreReadsTheClosure(store);
        Assert.Contains(_log.Lines, l => l.StartsWith("binary cache: fetching 3 NAR(s)", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.StartsWith("binary cache: fetched 3 NAR(s)", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.StartsWith($"binary cache: {Hello} from file://{cache} (none, ", StringComparison.Ordinal));
        Assert.Empty(_log.Warnings);
    }

    [Fact]
    public async Task GzipCompressedNarsAreUncompressedIntoTheCache()
    {
        var cache = NewCache("cache");
        PublishAll(cache, compression: "gzip");
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(cache, "nar"), "*.nar.gz"));

        var store = await FetchAsync(Fetcher([FileCache(cache)]));

        AssertEveryNarIsStoredUnderItsHash();
        AssertTheStoreReadsTheClosure(store);
        Assert.Contains(_log.Lines, l => l.StartsWith($"binary cache: {Glibc} from file://{cache} (gzip, ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWarmFetchAsksNoCache()
    {
        var cache = NewCache("cache");
        PublishAll(cache);
        await FetchAsync(Fetcher([FileCache(cache)]));
        Directory.Delete(cache, recursive: true);
        _log.Lines.Clear();

        var store = await FetchAsync(Fetcher([FileCache(cache)]));

        Assert.Equal(["binary cache: the NARs of all 3 store paths are in the layer cache; nothing to download"], _log.Lines);
        AssertEveryNarIsStoredUnderItsHash();
        AssertTheStoreReadsTheClosure(store);
    }

    [Fact]
    public async Task OnlyTheMissingNarsAreFetched()
    {
        var cache = NewCache("cache");
        PublishAll(cache);
        await FetchAsync(Fetcher([FileCache(cache)]), [GlibcPath.Info]);
        File.Delete(Path.Combine(cache, GlibcPath.HashPart + ".narinfo"));
        _log.Lines.Clear();

        var store = await FetchAsync(Fetcher([FileCache(cache)]));

        Assert.Contains(_log.Lines, l => l.StartsWith("binary cache: fetching 2 NAR(s)", StringComparison.Ordinal));
        Assert.DoesNotContain(_log.Lines, l => l.Contains(Glibc, StringComparison.Ordinal));
        AssertEveryNarIsStoredUnderItsHash();
        AssertTheStoreReadsTheClosure(store);
    }

    [Fact]
    public async Task TwoPathsWithTheSameNarShareOneBlob()
    {
        var cache = NewCache("cache");
        var nar = NarWriter.Write(new NarFile("same\n"));
        var first = new Locked("/nix/store/44444444444444444444444444444444-a.txt", nar, []);
        var second = new Locked("/nix/store/55555555555555555555555555555555-b.txt", nar, []);
        Publish(cache, first);
        Publish(cache, second);

        var store = await FetchAsync(Fetcher([FileCache(cache)]), [first.Info, second.Info]);

        Assert.Single(Blobs.Enumerate());
        Assert.Equal(nar, File.ReadAllBytes(Blobs.PathOf(first.Digest)));
        Assert.Equal([first.StorePath[1..]], store.Entries(first.StorePath).Select(e => e.Path));
        Assert.Equal([second.StorePath[1..]], store.Entries(second.StorePath).Select(e => e.Path));
        AssertNoTemporaryFiles();
    }

    [Fact]
    public async Task ABlobOfTheWrongSizeIsFetchedAgain()
    {
        var cache = NewCache("cache");
        PublishAll(cache);
        Directory.CreateDirectory(Path.GetDirectoryName(Blobs.PathOf(HelloPath.Digest))!);
        File.WriteAllBytes(Blobs.PathOf(HelloPath.Digest), [1, 2, 3]);

        await FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]);

        Assert.Equal(HelloPath.Nar, File.ReadAllBytes(Blobs.PathOf(HelloPath.Digest)));
    }

    [Fact]
    public async Task CachesAreTriedInOrder()
    {
        var first = NewCache("first");
        var second = NewCache("second");
        PublishAll(first);
        PublishAll(second);
        File.Delete(Path.Combine(first, HelloPath.HashPart + ".narinfo"));

        await FetchAsync(Fetcher([FileCache(first), FileCache(second)]));

        AssertEveryNarIsStoredUnderItsHash();
        Assert.Contains(_log.Lines, l => l.StartsWith($"binary cache: {Hello} from file://{second} ", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.StartsWith($"binary cache: {Glibc} from file://{first} ", StringComparison.Ordinal));
        Assert.Contains(_log.Lines, l => l.StartsWith($"binary cache: {Cacert} from file://{first} ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ANarinfoThatCannotBeReadCountsAsMissingAndTheNextCacheIsTried()
    {
        var first = NewCache("first");
        var second = NewCache("second");
        PublishAll(second);
        File.WriteAllText(Path.Combine(first, HelloPath.HashPart + ".narinfo"), "this is not a narinfo\n");

        await FetchAsync(Fetcher([FileCache(first), FileCache(second)]), [HelloPath.Info]);

        Assert.True(Blobs.Contains(HelloPath.Digest, HelloPath.Nar.Length));
        Assert.Contains(_log.Lines, l => l.StartsWith($"binary cache: {Hello} from file://{second} ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task APathNoCacheHasIsNiximg049NamingThePathAndEveryCache()
    {
        var first = NewCache("first");
        var second = NewCache("second");
        PublishAll(second);
        File.Delete(Path.Combine(second, CacertPath.HashPart + ".narinfo"));

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(first), FileCache(second)]), [CacertPath.Info]));

        Assert.Equal(ErrorCodes.StorePathNotCached, error.Code);
        Assert.Equal("NIXIMG049", error.Code);
        Assert.Contains($"No binary cache has {Cacert}", error.Message, StringComparison.Ordinal);
        Assert.Contains($"file://{first}: it has no {CacertPath.HashPart}.narinfo", error.Message, StringComparison.Ordinal);
        Assert.Contains($"file://{second}: it has no {CacertPath.HashPart}.narinfo", error.Message, StringComparison.Ordinal);
        Assert.Empty(Blobs.Enumerate());
    }

    [Fact]
    public async Task ANarinfoSignedByAnUntrustedKeyIsNiximg050()
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath, key: Stranger);

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.StorePathUntrusted, error.Code);
        Assert.Equal("NIXIMG050", error.Code);
        Assert.Contains(Hello, error.Message, StringComparison.Ordinal);
        Assert.Contains("signed by other-cache-1", error.Message, StringComparison.Ordinal);
        Assert.Contains("trusted: test-cache-1", error.Message, StringComparison.Ordinal);
        Assert.Empty(Blobs.Enumerate());
        Assert.False(File.Exists(Blobs.PathOf(HelloPath.Digest)));
    }

    [Fact]
    public async Task TheSameNarinfoIsTakenOnceItsKeyIsTrusted()
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath, key: Stranger);

        await FetchAsync(Fetcher([FileCache(cache)], trusted: [Trusted, Stranger]), [HelloPath.Info]);

        Assert.True(Blobs.Contains(HelloPath.Digest, HelloPath.Nar.Length));
    }

    [Fact]
    public async Task AnUnsignedNarinfoIsNiximg050()
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath, signed: false);

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.StorePathUntrusted, error.Code);
        Assert.Contains("it is not signed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASignatureByTheTrustedKeysNameOverOtherFieldsIsNiximg050()
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath);
        var narinfo = Path.Combine(cache, HelloPath.HashPart + ".narinfo");

        // The fields are the lock's, but the signature was made over another NAR size.
        Publish(NewCache("other"), HelloPath, edit: f => f with { NarSize = f.NarSize + 8 });
        var forged = File.ReadAllLines(Path.Combine(_temp.Combine("other"), HelloPath.HashPart + ".narinfo")).Single(l => l.StartsWith("Sig: ", StringComparison.Ordinal));
        File.WriteAllLines(narinfo, File.ReadAllLines(narinfo).Select(l => l.StartsWith("Sig: ", StringComparison.Ordinal) ? forged : l));

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.StorePathUntrusted, error.Code);
        Assert.Contains("no valid signature of a trusted key", error.Message, StringComparison.Ordinal);
        Assert.Contains("signed by test-cache-1", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> Mismatches => new()
    {
        { "NarHash", "its NAR hash is" },
        { "NarSize", "its NAR size is" },
        { "StorePath", "it names" },
        { "a reference more", "its references are not the lock's" },
        { "a reference less", "its references are not the lock's" },
    };

    [Theory]
    [MemberData(nameof(Mismatches))]
    public async Task ANarinfoThatDescribesAnotherPathThanTheLockIsNiximg050(string field, string said)
    {
        var cache = NewCache("cache");
        Func<Fields, Fields> edit = field switch
        {
            "NarHash" => f => f with { NarHash = NarHash.FromBytes(SHA256.HashData("other"u8)).ToString() },
            "NarSize" => f => f with { NarSize = f.NarSize + 8 },
            "StorePath" => f => f with { StorePath = "/nix/store/11111111111111111111111111111111-hello-2.12.2" },
            "a reference more" => f => f with { References = [.. f.References, Cacert] },
            "a reference less" => f => f with { References = f.References.Where(r => r != Glibc).ToList() },
            _ => throw new ArgumentException(field),
        };

        // Signed by the trusted key: what it says is what the cache means, and it is not what the lock says.
        Publish(cache, HelloPath, edit: edit);

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.StorePathUntrusted, error.Code);
        Assert.Contains($"The narinfo of {Hello} in file://{cache} does not match the lock file: {said}", error.Message, StringComparison.Ordinal);
        Assert.Empty(Blobs.Enumerate());
    }

    public static TheoryData<string> Tamperings => new() { "a byte changed", "a byte more", "cut short", "another NAR" };

    [Fact]
    public async Task ACacheWhoseCopyIsRejectedIsPassedOverForALaterGoodOne()
    {
        var untrusted = NewCache("untrusted");
        var tampered = NewCache("tampered");
        var good = NewCache("good");
        Publish(untrusted, HelloPath, key: Stranger);
        Publish(tampered, HelloPath, narFile: CacertPath.Nar);
        Publish(good, HelloPath);

        var store = await FetchAsync(Fetcher([FileCache(untrusted), FileCache(tampered), FileCache(good)]), [HelloPath.Info]);

        Assert.NotEmpty(store.Entries(Hello));
        Assert.True(File.Exists(Blobs.PathOf(HelloPath.Digest)));
        AssertNoTemporaryFiles();
    }

    [Fact]
    public async Task WhenEveryCacheRejectsItsCopyTheFirstRejectionIsTheErrorAndEachCacheIsNamed()
    {
        var untrusted = NewCache("untrusted");
        var tampered = NewCache("tampered");
        Publish(untrusted, HelloPath, key: Stranger);
        Publish(tampered, HelloPath, narFile: CacertPath.Nar);

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(untrusted), FileCache(tampered)]), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.StorePathUntrusted, error.Code);
        Assert.Contains($"file://{untrusted}: rejected (NIXIMG050)", error.Message, StringComparison.Ordinal);
        Assert.Contains($"file://{tampered}: rejected (NIXIMG051)", error.Message, StringComparison.Ordinal);
        Assert.Empty(Blobs.Enumerate());
    }

    [Theory]
    [MemberData(nameof(Tamperings))]
    public async Task ANarThatIsNotTheLockedOneIsNiximg051AndNothingOfItIsKept(string tampering)
    {
        var cache = NewCache("cache");
        var nar = HelloPath.Nar.ToArray();
        byte[] served = tampering switch
        {
            "a byte changed" => ChangeLastContentByte(nar),
            "a byte more" => [.. nar, 0],
            "cut short" => nar[..^8],
            "another NAR" => CacertPath.Nar,
            _ => throw new ArgumentException(tampering),
        };
        Publish(cache, HelloPath, narFile: served);

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.NarUnusable, error.Code);
        Assert.Equal("NIXIMG051", error.Code);
        Assert.Contains($"The NAR of {Hello} from file://{cache}", error.Message, StringComparison.Ordinal);
        Assert.Contains("nothing of it was kept", error.Message, StringComparison.Ordinal);
        Assert.Empty(Blobs.Enumerate());
        AssertNoTemporaryFiles();

        static byte[] ChangeLastContentByte(byte[] bytes)
        {
            // "echo hello\n" ends the file's contents; make it "echo hellO\n".
            var at = Encoding.ASCII.GetString(bytes).IndexOf("hello\n", StringComparison.Ordinal) + 4;
            bytes[at] = (byte)'O';
            return bytes;
        }
    }

    [Fact]
    public async Task AGzipNarThatIsNotGzipIsNiximg051()
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath, compression: "gzip", narFile: HelloPath.Nar);

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.NarUnusable, error.Code);
        Assert.Empty(Blobs.Enumerate());
        AssertNoTemporaryFiles();
    }

    [Fact]
    public async Task ACompressionThisPackageCannotReadIsNiximg051()
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath, compression: "br");

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.NarUnusable, error.Code);
        Assert.Contains("compressed with 'br'", error.Message, StringComparison.Ordinal);
        Assert.Empty(Blobs.Enumerate());
    }

    [Fact]
    public async Task ANarinfoWhoseNarIsMissingIsNiximg049()
    {
        var cache = NewCache("cache");
        Publish(cache, HelloPath, writeNar: false);

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([FileCache(cache)]), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.StorePathNotCached, error.Code);
        Assert.Contains($"file://{cache} has the narinfo of {Hello} but not its NAR", error.Message, StringComparison.Ordinal);
        Assert.Empty(Blobs.Enumerate());
        AssertNoTemporaryFiles();
    }

    [Fact]
    public async Task AnHttpCacheServesTheSame()
    {
        var folder = NewCache("served");
        PublishAll(folder, compression: "gzip");
        using var handler = new FolderHandler(new Dictionary<string, string> { ["cache.test"] = folder });

        var store = await FetchAsync(Fetcher([new Uri("http://cache.test")], handler));

        AssertEveryNarIsStoredUnderItsHash();
        AssertTheStoreReadsTheClosure(store);
        Assert.Equal(6, handler.Requests.Count);
        Assert.Contains(new Uri($"http://cache.test/{HelloPath.HashPart}.narinfo"), handler.Requests);
        Assert.All(handler.Requests, r => Assert.Equal("cache.test", r.Host));
        Assert.Contains(_log.Lines, l => l.StartsWith($"binary cache: {Hello} from http://cache.test (gzip, ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnHttpCacheUnderAPathServesTheSame()
    {
        var folder = NewCache("served");
        Directory.CreateDirectory(Path.Combine(folder, "nix"));
        PublishAll(Path.Combine(folder, "nix"));
        using var handler = new FolderHandler(new Dictionary<string, string> { ["cache.test"] = folder });

        await FetchAsync(Fetcher([BinaryCacheClient.ParseCache("https://cache.test/nix/")!], handler));

        AssertEveryNarIsStoredUnderItsHash();
        Assert.Contains(new Uri($"https://cache.test/nix/{HelloPath.HashPart}.narinfo"), handler.Requests);
    }

    [Fact]
    public async Task AnHttpCacheWithoutThePathIsNiximg049WithoutItsPassword()
    {
        var folder = NewCache("served");
        using var handler = new FolderHandler(new Dictionary<string, string> { ["cache.test"] = folder });

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([new Uri("https://builder:s3cr3tpw@cache.test/nix")], handler), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.StorePathNotCached, error.Code);
        Assert.Contains($"https://cache.test/nix: it has no {HelloPath.HashPart}.narinfo", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3tpw", error.Message, StringComparison.Ordinal);
        Assert.Single(handler.Requests);
    }

    [Fact]
    public async Task ACacheThatAnswers500IsPassedOverForTheNext()
    {
        var folder = NewCache("served");
        PublishAll(folder);
        using var handler = new FolderHandler(new Dictionary<string, string> { ["good.test"] = folder }, failing: "broken.test");

        var store = await FetchAsync(Fetcher([new Uri("http://broken.test"), new Uri("http://good.test")], handler));

        AssertEveryNarIsStoredUnderItsHash();
        AssertTheStoreReadsTheClosure(store);
        Assert.Equal(3, handler.Requests.Count(r => r.Host == "broken.test"));
        Assert.Contains(_log.Lines, l => l.StartsWith($"binary cache: {Hello} from http://good.test ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task WhenEveryCacheFailsTheMessageSaysWhatEachAnswered()
    {
        var folder = NewCache("cache");
        using var handler = new FolderHandler(new Dictionary<string, string>(), failing: "broken.test");

        var error = await Assert.ThrowsAsync<NixImageException>(() => FetchAsync(Fetcher([new Uri("http://broken.test"), FileCache(folder)], handler), [HelloPath.Info]));

        Assert.Equal(ErrorCodes.StorePathNotCached, error.Code);
        Assert.Contains($"http://broken.test: it answered 500 Internal Server Error for {HelloPath.HashPart}.narinfo", error.Message, StringComparison.Ordinal);
        Assert.Contains($"file://{folder}: it has no {HelloPath.HashPart}.narinfo", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABuildFromTheLockFileFetchesTheLockedClosure()
    {
        var cache = NewCache("cache");
        PublishAll(cache);
        var lockFile = _temp.Combine(LockFile.FileName);
        var source = new NixPackageSource.Channel("nixos-24.05", "https://example.org/nixexprs.tar.xz");
        LockFile.Update(lockFile, "x86_64-linux", new LockedPlatform(
            LockFile.SourceOf(source, _temp.Path),
            [new ResolvedPackage("cacert", "cacert", Cacert, "NixDefaultPackages"), new ResolvedPackage("hello", "hello", Hello, "NixPackage")],
            Lock.ToDictionary(p => p.Path, StringComparer.Ordinal)));
        var request = LockRequests.Create(_temp, "hello", lockFile, source, [new("cacert", "NixDefaultPackages"), new("hello", "NixPackage")]) with
        {
            BinaryCaches = NixModeSettings.Caches("file://" + cache + "/"),
            TrustedPublicKeys = NixModeSettings.Keys(Trusted.PublicKeyText),
            Entrypoint = ["/app/hello"],
            CacheDirectory = _temp.Combine("layer-cache"),
        };

        var result = await new LockClosureSource(_log).GetAsync(request, closureKey: null, CancellationToken.None);

        Assert.False(result.Reused);
        Assert.Equal([Cacert, Hello], result.Closure.Packages.Select(p => p.StorePath));
        Assert.Equal([Glibc, Hello, Cacert], result.Closure.Paths.Keys);
        AssertEveryNarIsStoredUnderItsHash();
        AssertTheStoreReadsTheClosure(Assert.IsType<NarStore>(result.Store));
        Assert.Contains(_log.Lines, l => l.StartsWith($"Nix: not run; the closure of 3 store paths is the lock file's ({lockFile})", StringComparison.Ordinal));
    }

    public void Dispose() => _temp.Dispose();

    private static byte[] XzCompress(byte[] data)
    {
        using var folder = new TempDirectory("xz");
        var file = folder.Combine("data.nar");
        File.WriteAllBytes(file, data);
        Command.Run("xz", ["-z", "-T1", file]).EnsureSuccess();
        return File.ReadAllBytes(file + ".xz");
    }

    /// <summary>Serves each host's folder over "HTTP": 200 with the file, 404 when there is none; 500 for everything of the failing host.</summary>
    private sealed class FolderHandler(IReadOnlyDictionary<string, string> folders, string? failing = null) : HttpMessageHandler
    {
        public ConcurrentQueue<Uri> Requests { get; } = new();

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            Requests.Enqueue(uri);
            if (uri.Host == failing)
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.InternalServerError) { RequestMessage = request });
            }

            var file = folders.TryGetValue(uri.Host, out var folder) ? Path.Combine(folder, Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'))) : null;
            return Task.FromResult(file is not null && File.Exists(file)
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(File.ReadAllBytes(file)), RequestMessage = request }
                : new HttpResponseMessage(HttpStatusCode.NotFound) { RequestMessage = request });
        }
    }
}

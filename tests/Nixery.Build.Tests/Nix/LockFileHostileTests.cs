using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Nixery.Build.Diagnostics;
using Nixery.Build.Nix;
using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.Nix;

/// <summary>
/// The lock file as hostile input: edited by hand, merged badly, saved with a BOM. Every malformed field is NIXIMG047
/// saying which field of which entry; a lock whose parts do not hang together is found by <see cref="LockFile.Inconsistency"/>.
/// </summary>
public sealed class LockFileHostileTests : IDisposable
{
    private const string Jq = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-jq-1.7.1-bin";
    private const string Glibc = "/nix/store/dddddddddddddddddddddddddddddddd-glibc-2.39-52";

    private readonly TempDirectory _temp = new();

    private string LockPath => _temp.Combine(LockFile.FileName);

    private static StorePathInfo Info(string path, long size, string[] references) =>
        new(path, size, references, NarHash.FromBytes(SHA256.HashData(Encoding.UTF8.GetBytes(path))));

    private static LockedPlatform Platform(string[]? jqReferences = null, string packagePath = Jq) => new(
        "channel https://example.org/nixexprs.tar.xz",
        [new ResolvedPackage("jq", "jq", packagePath, "NixPackage")],
        new Dictionary<string, StorePathInfo>(StringComparer.Ordinal)
        {
            [Jq] = Info(Jq, 1000, jqReferences ?? [Glibc, Jq]),
            [Glibc] = Info(Glibc, 3000, [Glibc]),
        });

    private static byte[] Valid => LockFile.Serialize(new Dictionary<string, LockedPlatform>(StringComparer.Ordinal) { ["x86_64-linux"] = Platform() });

    [Fact]
    public void ALockWithAUtf8ByteOrderMarkIsRead()
    {
        File.WriteAllBytes(LockPath, [0xEF, 0xBB, 0xBF, .. Valid]);

        var platforms = LockFile.Read(LockPath);

        Assert.Equal([Jq, Glibc], platforms["x86_64-linux"].Paths.Keys);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "the file is an array", "the file is an array, not an object" },
        { "version is a string", "'version' of the file is a string, not a whole number" },
        { "no platforms", "the file has no 'platforms'" },
        { "platforms is an array", "'platforms' is an array, not an object" },
        { "packages is an object", "'packages' of platform 'x86_64-linux' is an object, not an array" },
        { "a package's storePath is a number", "'storePath' of package 1 of platform 'x86_64-linux' is a number, not a string" },
        { "a package's name is null", "'name' of package 1 of platform 'x86_64-linux' is null, not a string" },
        { "a package's storePath is not a store path", "the storePath '/etc/passwd' of package 1 of platform 'x86_64-linux' is not a store path" },
        { "a package's license is a number", "'license' of package 1 of platform 'x86_64-linux' is a number, not an SPDX licence expression" },
        { "a package's license is an array", "'license' of package 1 of platform 'x86_64-linux' is an array, not an SPDX licence expression" },
        { "a package's license is empty", "'license' of package 1 of platform 'x86_64-linux' is empty, not an SPDX licence expression" },
        { "no closure", "platform 'x86_64-linux' has no 'closure'" },
        { "a closure entry that is not a store path", "the closure entry '/nix/store/../../etc/passwd' of platform 'x86_64-linux' is not a store path" },
        { "a closure entry that is a string", $"the closure entry {Glibc} of platform 'x86_64-linux' is a string, not an object" },
        { "a bad narHash", $"'narHash' of the closure entry {Glibc} of platform 'x86_64-linux' is 'sha256:zz', not a NAR hash" },
        { "a narHash of another algorithm", "not a NAR hash" },
        { "a negative narSize", $"'narSize' of the closure entry {Glibc} of platform 'x86_64-linux' is -5; a NAR has at least one byte" },
        { "narSize 0", "is 0; a NAR has at least one byte" },
        { "a narSize that is a string", "'narSize' of the closure entry" },
        { "a narSize beyond 64 bits", "not a whole number" },
        { "references is a string", "'references' of the closure entry" },
        { "a reference that is a number", "a reference of the closure entry" },
        { "a reference outside the store", "a reference of the closure entry" },
        { "no narHash", $"the closure entry {Glibc} of platform 'x86_64-linux' has no 'narHash'" },
        { "not JSON", "cannot be read" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void EveryMalformedFieldIsNiximg047SayingWhichAndWhere(string change, string said)
    {
        File.WriteAllBytes(LockPath, Mangle(change));

        var error = Assert.Throws<NixImageException>(() => LockFile.Read(LockPath));

        Assert.Equal(ErrorCodes.LockFileMissing, error.Code);
        Assert.Contains(said, error.Message, StringComparison.Ordinal);
        Assert.Contains("dotnet build -t:NixLock", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALockThatIsAFolderIsNiximg047()
    {
        Directory.CreateDirectory(LockPath);

        var error = Assert.Throws<NixImageException>(() => LockFile.Read(LockPath));

        Assert.Equal(ErrorCodes.LockFileMissing, error.Code);
    }

    [Fact]
    public void AWholeLockHangsTogether() => Assert.Null(LockFile.Inconsistency(Platform()));

    [Fact]
    public void APackageWhoseStorePathIsNotInTheClosureIsAnInconsistency()
    {
        var other = "/nix/store/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-jq-1.6";

        Assert.Equal($"the package 'jq' is {other}, which is not in its closure", LockFile.Inconsistency(Platform(packagePath: other)));
    }

    [Fact]
    public void AReferenceThatIsNotInTheClosureIsAnInconsistency()
    {
        var missing = "/nix/store/cccccccccccccccccccccccccccccccc-oniguruma-6.9.9-lib";

        Assert.Equal($"{Jq} refers to {missing}, which is not in the closure", LockFile.Inconsistency(Platform(jqReferences: [Glibc, missing])));
    }

    private static byte[] Mangle(string change)
    {
        if (change == "not JSON")
        {
            return "{\"version\": 1, \"platforms\": {"u8.ToArray();
        }

        var root = JsonNode.Parse(Valid)!;
        var platform = root["platforms"]!["x86_64-linux"]!;
        var package = platform["packages"]![0]!;
        var glibc = platform["closure"]![Glibc]!;
        switch (change)
        {
            case "the file is an array": return "[1, 2]"u8.ToArray();
            case "version is a string": root["version"] = "1"; break;
            case "no platforms": root.AsObject().Remove("platforms"); break;
            case "platforms is an array": root["platforms"] = new JsonArray(); break;
            case "packages is an object": platform["packages"] = new JsonObject(); break;
            case "a package's storePath is a number": package["storePath"] = 7; break;
            case "a package's name is null": package["name"] = null; break;
            case "a package's storePath is not a store path": package["storePath"] = "/etc/passwd"; break;
            case "a package's license is a number": package["license"] = 1; break;
            case "a package's license is an array": package["license"] = new JsonArray("MIT", "BSD-3-Clause"); break;
            case "a package's license is empty": package["license"] = " "; break;
            case "no closure": platform.AsObject().Remove("closure"); break;
            case "a closure entry that is not a store path": platform["closure"]!["/nix/store/../../etc/passwd"] = glibc.DeepClone(); break;
            case "a closure entry that is a string": platform["closure"]![Glibc] = "glibc"; break;
            case "a bad narHash": glibc["narHash"] = "sha256:zz"; break;
            case "a narHash of another algorithm": glibc["narHash"] = "md5:d41d8cd98f00b204e9800998ecf8427e"; break;
            case "a negative narSize": glibc["narSize"] = -5; break;
            case "narSize 0": glibc["narSize"] = 0; break;
            case "a narSize that is a string": glibc["narSize"] = "3000"; break;
            case "a narSize beyond 64 bits": glibc["narSize"] = 1e30; break;
            case "references is a string": glibc["references"] = Glibc; break;
            case "a reference that is a number": glibc["references"] = new JsonArray(1); break;
            case "a reference outside the store": glibc["references"] = new JsonArray("/etc/passwd"); break;
            case "no narHash": glibc.AsObject().Remove("narHash"); break;
            default: throw new ArgumentException(change);
        }

        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    public void Dispose() => _temp.Dispose();
}

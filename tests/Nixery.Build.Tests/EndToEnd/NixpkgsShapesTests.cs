using Nixery.Build.Diagnostics;
using Nixery.Build.Elf;
using Nixery.Build.Nix;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// Packages shaped as nixpkgs shapes them, which the offline set imitates (samples/nixpkgs/README.md): several outputs
/// whose first one is not the libraries (openssl: bin, dev, out; sqlite: bin, dev, out; krb5: out, lib, dev). An
/// app-host package is linked through its library output, as nixpkgs' lib.getLib picks it; a NixPackage gives what
/// its attribute names. Each image runs as its own user.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class NixpkgsShapesTests
{
    private readonly PackageFeed _feed;

    public NixpkgsShapesTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public async Task AppHostPackagesResolveToTheirLibraryOutputAndOtherPackagesToWhatTheirAttributeNames()
    {
        Prerequisites.Require();
        using var environment = new NixEnvironment();
        var client = NixClient.Locate(Environment.GetEnvironmentVariable("PATH"), NullBuildLog.Instance);
        var resolved = await client.ResolveAsync(
            new NixPackageSource.LocalPath(SampleProject.PackageSet),
            "x86_64-linux",
            PackageNames.Normalize(
            [
                new PackageRequest("openssl", "NixPackage"),
                new PackageRequest("openssl", PackageRequest.AppHostOrigin),
                new PackageRequest("sqlite", PackageRequest.AppHostOrigin),
                new PackageRequest("krb5", PackageRequest.AppHostOrigin),
                new PackageRequest("glibc", PackageRequest.AppHostOrigin),
            ]),
            CancellationToken.None);

        var outputs = resolved.Select(r => $"{r.Package.Name} {r.Package.Origin} {r.OutputName} {RuntimeClosure.NameOf(r.Package.StorePath)}").ToList();
        Assert.Equal(
            [
                "glibc NixAppHostPackages out glibc-2.36",
                "krb5 NixAppHostPackages lib krb5-1.20.1-lib",
                "openssl NixPackage bin openssl-3.0.19-bin",
                "openssl NixAppHostPackages out openssl-3.0.19",
                "sqlite NixAppHostPackages out sqlite-3.40.1",
            ],
            outputs);
    }

    [Fact]
    public void SelfContainedAppUsesOpenSslSqliteAndKerberosThroughTheirLibraryOutputsAndTheOpensslToolIsOnPath()
    {
        using var project = SampleProject.Copy(_feed);
        project.AddToProject("""<ItemGroup><NixPackage Include="openssl" /></ItemGroup>""");
        File.WriteAllText(Path.Combine(project.Directory, "Program.cs"), """
            using System.Net;
            using System.Net.Security;
            using System.Net.Sockets;
            using System.Runtime.InteropServices;
            using System.Security.Cryptography;
            using System.Security.Cryptography.X509Certificates;

            Console.WriteLine($"SHA-256(abc) = {Convert.ToHexStringLower(SHA256.HashData("abc"u8))[..16]}");

            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddYears(100));
            Console.WriteLine($"X.509: {certificate.Subject}, {certificate.PublicKey.Oid.FriendlyName}");

            // A TLS handshake with itself over loopback: OpenSSL's client and server contexts, for real.
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var serve = Task.Run(async () =>
            {
                using var accepted = await listener.AcceptTcpClientAsync();
                using var server = new SslStream(accepted.GetStream());
                using var pfx = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
                await server.AuthenticateAsServerAsync(pfx);
                await server.WriteAsync("hello over TLS"u8.ToArray());
            });
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            using var client = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
            await client.AuthenticateAsClientAsync("localhost");
            var buffer = new byte[64];
            var read = await client.ReadAsync(buffer);
            await serve;
            Console.WriteLine($"TLS: {client.SslProtocol} says '{System.Text.Encoding.ASCII.GetString(buffer, 0, read)}'");

            // libsqlite3 from sqlite's out output, through a P/Invoke (.NET opens it with dlopen by name).
            Console.WriteLine($"SQLite: {Marshal.PtrToStringUTF8(Native.sqlite3_libversion())}");

            // libgssapi_krb5 from krb5's lib output, as System.Net.Security opens it for Negotiate.
            var gssapi = NativeLibrary.Load("libgssapi_krb5.so.2");
            Console.WriteLine($"GSSAPI: gss_init_sec_context {(NativeLibrary.TryGetExport(gssapi, "gss_init_sec_context", out _) ? "found" : "missing")}");

            static partial class Native
            {
                [DllImport("libsqlite3.so.0")]
                public static extern IntPtr sqlite3_libversion();
            }
            """);

        var publish = project.Publish("-r", "linux-x64", "--self-contained", "-p:NixAppHostPackages=glibc%3Bstdenv.cc.cc.lib%3Bicu%3Bopenssl%3Bsqlite%3Bkrb5");
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.DoesNotContain(ErrorCodes.AppHostPackageWithoutLibraries, publish.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("NIXIMG02", publish.Output, StringComparison.Ordinal);

        using var image = new ImageReader(project.DefaultArchive());
        Assert.Equal((1654, 1654), image.User);
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("SHA-256(abc) = ba7816bf8f01cfea", run.Output, StringComparison.Ordinal);
        Assert.Contains("X.509: CN=localhost, RSA", run.Output, StringComparison.Ordinal);
        Assert.Contains("TLS: Tls13 says 'hello over TLS'", run.Output, StringComparison.Ordinal);
        // (The versions are the host's Debian files the set is made of; the store names keep the set's literals.)
        Assert.Matches("SQLite: 3\\.[0-9]+\\.[0-9]+", run.Output);
        Assert.Contains("GSSAPI: gss_init_sec_context found", run.Output, StringComparison.Ordinal);

        // The runtime links to the library outputs, never to the outputs the attributes name.
        var coreclr = ElfFile.TryRead(Path.Combine(image.RootFileSystem, "app", "libcoreclr.so"))!;
        Assert.Contains(coreclr.SearchPath, d => d.EndsWith("-openssl-3.0.19/lib", StringComparison.Ordinal));
        Assert.Contains(coreclr.SearchPath, d => d.EndsWith("-sqlite-3.40.1/lib", StringComparison.Ordinal));
        Assert.Contains(coreclr.SearchPath, d => d.EndsWith("-krb5-1.20.1-lib/lib", StringComparison.Ordinal));
        Assert.DoesNotContain(coreclr.SearchPath, d => d.Contains("-bin/", StringComparison.Ordinal));

        // The NixPackage gives the tool: openssl's bin output is joined into the root, and runs from PATH.
        var openssl = image.Run(["openssl", "version"]);
        Assert.True(openssl.ExitCode == 0, openssl.Output);
        // The tool found the library of the same version: the store's, through its RUNPATH into openssl's out output.
        Assert.Matches("^OpenSSL (3\\.[0-9.]+) .*\\(Library: OpenSSL \\1 ", openssl.Output.Trim());
        Assert.Matches("^/nix/store/[a-z0-9]{32}-openssl-3\\.0\\.19-bin/bin/openssl$", new FileInfo(Path.Combine(image.RootFileSystem, "bin", "openssl")).LinkTarget);
    }

    [Fact]
    public void AppHostPackageWhoseLibrariesAreElsewhereIsAWarningNamingIt()
    {
        using var project = SampleProject.Copy(_feed);
        // cacert has one output, with certificates and no lib/: nothing to link to, which the build says.
        var publish = project.Publish("-r", "linux-x64", "-p:NixAppHostPackages=glibc%3Bstdenv.cc.cc.lib%3Bcacert");
        Assert.True(publish.ExitCode == 0, publish.Output);
        Assert.Contains($"warning {ErrorCodes.AppHostPackageWithoutLibraries}", publish.Output, StringComparison.Ordinal);
        Assert.Contains("The app-host package 'cacert'", publish.Output, StringComparison.Ordinal);

        using var image = new ImageReader(project.DefaultArchive());
        var run = image.Run();
        Assert.True(run.ExitCode == 0, run.Output);
    }
}

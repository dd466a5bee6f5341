using Nixery.Build.Tests.Support;

namespace Nixery.Build.Tests.EndToEnd;

/// <summary>
/// The package set can come from a path, a channel tarball or a git repository at a commit. All three
/// are tested offline with file URLs; the same set must give the very same image.
/// </summary>
[Collection(EndToEndTests.Name)]
public sealed class PackageSourceTests
{
    private readonly PackageFeed _feed;

    public PackageSourceTests(PackageFeed feed) => _feed = feed;

    [Fact]
    public void PathChannelTarballAndGitCommitGiveTheSameImage()
    {
        using var project = SampleProject.Copy(_feed);
        using var sources = new TempDirectory("nixery-sources");

        // A tarball with one top-level folder, as channels and GitHub archives are.
        var tarball = sources.Combine("nixexprs.tar.gz");
        Command.Run("tar", ["-czf", tarball, "--transform", "s,^nixpkgs,nixpkgs-offline,", "-C", Path.GetDirectoryName(SampleProject.PackageSet)!, "nixpkgs"]).EnsureSuccess();

        // A git repository holding the set at a commit.
        var repository = sources.Combine("nixpkgs-git");
        Directory.CreateDirectory(repository);
        foreach (var file in Directory.EnumerateFiles(SampleProject.PackageSet))
        {
            File.Copy(file, Path.Combine(repository, Path.GetFileName(file)));
        }

        var git = new Dictionary<string, string?>
        {
            ["GIT_AUTHOR_NAME"] = "test",
            ["GIT_AUTHOR_EMAIL"] = "test@example.org",
            ["GIT_COMMITTER_NAME"] = "test",
            ["GIT_COMMITTER_EMAIL"] = "test@example.org",
        };
        Command.Run("git", ["init", "-q", "-b", "main", repository], environment: git).EnsureSuccess();
        Command.Run("git", ["-C", repository, "add", "-A"], environment: git).EnsureSuccess();
        Command.Run("git", ["-C", repository, "commit", "-q", "-m", "offline set"], environment: git).EnsureSuccess();
        var revision = Command.Run("git", ["-C", repository, "rev-parse", "HEAD"]).EnsureSuccess().Output.Trim();

        var digests = new Dictionary<string, string>();
        foreach (var (form, arguments) in new (string, string[])[]
        {
            ("path", []),
            ("channel", ["-p:NixPkgsPath=", "-p:NixPkgsChannel=file://" + tarball]),
            ("git", ["-p:NixPkgsPath=", "-p:NixPkgsGitRepository=file://" + repository, "-p:NixPkgsGitRevision=" + revision]),
        })
        {
            // Generated labels name the source, which differs on purpose; everything else must not.
            var publish = project.Publish(["-r", "linux-x64", "-p:ContainerGenerateLabels=false", .. arguments], environment: null);
            Assert.True(publish.ExitCode == 0, $"{form}: {publish.Output}");
            using var image = new ImageReader(project.DefaultArchive());
            digests[form] = image.Inspect().GetProperty("Digest").GetString()!;
            if (form == "git")
            {
                var run = image.Run();
                Assert.True(run.ExitCode == 0, run.Output);
                Assert.Contains("jq says: jq-1.6", run.Output, StringComparison.Ordinal);
            }
        }

        Assert.Equal(digests["path"], digests["channel"]);
        Assert.Equal(digests["path"], digests["git"]);
    }
}

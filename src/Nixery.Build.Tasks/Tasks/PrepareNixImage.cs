using Microsoft.Build.Framework;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// Writes the <see cref="ImageRequest"/> that <see cref="BuildNixImage"/> builds from (<see cref="ImagePreparation"/>):
/// the file changes only when something that decides the image changes, so the image target's Inputs/Outputs skip
/// all work when nothing did. Coded exceptions become MSBuild errors (<c>NIXIMG###</c>) without stack traces.
/// </summary>
public sealed class PrepareNixImage : NixImageInputsTask
{
    /// <summary>Where BuildNixImage leaves the manifest digest: with no archive, the cached image it names is checked.</summary>
    public string? DigestFile { get; set; }

    /// <summary>Where to write the request (in the obj folder).</summary>
    [Required]
    public string RequestFile { get; set; } = string.Empty;

    /// <summary>The archive the image will be written to (for the image target's Outputs); empty when none is.</summary>
    [Output]
    public string? ArchivePath { get; set; }

    [Output]
    public string? SummaryPath { get; set; }

    protected override string CancelledMessage => "Cancelled; the image request was not written.";

    protected override void Run(CancellationToken cancellationToken)
    {
        var prepared = ImagePreparation.Prepare(Inputs(), RequestFile, DigestFile);
        if (prepared.ForgotMissingImage)
        {
            Log.LogMessage(MessageImportance.High, "Nixery.Build: the layer cache no longer holds the last image; building it again.");
        }

        ArchivePath = prepared.Request.WriteArchive ? prepared.Request.ArchivePath : null;
        SummaryPath = prepared.Request.SummaryPath;
    }

    /// <summary>The request from these parameters, as <see cref="Run"/> makes it before looking at the disk (for tests).</summary>
    internal ImageRequest CreateRequest() => ImageRequestFactory.Create(Inputs());
}

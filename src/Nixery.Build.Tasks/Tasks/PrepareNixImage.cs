using Microsoft.Build.Framework;
using Nixery.Build.Pipeline;

namespace Nixery.Build.Tasks;

/// <summary>
/// Writes the <see cref="ImageRequest"/> that <see cref="BuildNixImage"/> builds from (<see cref="ImagePreparation"/>).
/// Coded exceptions become MSBuild errors (<c>NIXIMG###</c>) without stack traces.
/// </summary>
public sealed class PrepareNixImage : NixImageInputsTask
{
    /// <summary>Where to write the request (in the obj folder).</summary>
    [Required]
    public string RequestFile { get; set; } = string.Empty;

    protected override string CancelledMessage => "Cancelled; the image request was not written.";

    protected override void Run(CancellationToken cancellationToken) => ImagePreparation.Prepare(Inputs(), RequestFile);

    /// <summary>The request from these parameters, as <see cref="Run"/> makes it before looking at the disk (for tests).</summary>
    internal ImageRequest CreateRequest() => ImageRequestFactory.Create(Inputs());
}

using Microsoft.Build.Framework;
using Nixery.Build.Pipeline;
using Nixery.Build.Settings;

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

    protected override void Run(CancellationToken cancellationToken)
    {
        var prepared = ImagePreparation.Prepare(Inputs(), RequestFile);
        // Handed on to BuildNixImage in this build, which then need not parse the file again (it checks the bytes).
        BuildEngine4.RegisterTaskObject(PreparedRequestKey(RequestFile), prepared, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: true);
    }

    /// <summary>The key under which a prepared request is handed from this task to <see cref="BuildNixImage"/>.</summary>
    internal static (string, string) PreparedRequestKey(string requestFile) => ("Nixery.Build.PreparedRequest", Path.GetFullPath(requestFile));

    /// <summary>The request from these parameters, as <see cref="Run"/> makes it before looking at the disk (for tests).</summary>
    internal ImageRequest CreateRequest() => ImageRequestFactory.Create(Inputs());
}

using Microsoft.Build.Framework;
using Nixery.Build.Pipeline;
using Nixery.Build.Settings;

namespace Nixery.Build.Tasks;

/// <summary>
/// Writes the <see cref="ImageRequest"/> that <see cref="BuildNixImage"/> builds from (<see cref="ImagePreparation"/>):
/// the request <see cref="ComputeNixImageRequest"/> resolved in this build, taken as it is (the factory does not run
/// again). Coded exceptions become MSBuild errors (<c>NIXIMG###</c>) without stack traces.
/// </summary>
public sealed class PrepareNixImage : CancelableNixTask
{
    /// <summary>ComputeNixImageRequest's <see cref="ComputeNixImageRequest.RequestToken"/>.</summary>
    [Required]
    public string RequestToken { get; set; } = string.Empty;

    /// <summary>Where to write the request (in the obj folder).</summary>
    [Required]
    public string RequestFile { get; set; } = string.Empty;

    protected override string CancelledMessage => "Cancelled; the image request was not written.";

    protected override void Run(CancellationToken cancellationToken)
    {
        var resolved = BuildEngine4.GetRegisteredTaskObject(ComputeNixImageRequest.ResolvedRequestKey(RequestToken), RegisteredTaskObjectLifetime.Build) as ResolvedRequest
            ?? throw new InvalidOperationException("PrepareNixImage runs after ComputeNixImageRequest in the same build, which hands it the resolved request.");
        var prepared = ImagePreparation.Prepare(resolved.Inputs, resolved.Request, RequestFile);

        // Handed on to BuildNixImage in this build, which then need not parse the file again (it checks the bytes).
        BuildEngine4.RegisterTaskObject(PreparedRequestKey(RequestFile), prepared, RegisteredTaskObjectLifetime.Build, allowEarlyCollection: true);
    }

    /// <summary>The key under which a prepared request is handed from this task to <see cref="BuildNixImage"/>.</summary>
    internal static (string, string) PreparedRequestKey(string requestFile) => ("Nixery.Build.PreparedRequest", Path.GetFullPath(requestFile));
}

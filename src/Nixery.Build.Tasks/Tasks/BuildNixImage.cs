using Nixery.Build.Pipeline;
using Nixery.Build.Settings;

namespace Nixery.Build.Tasks;

/// <summary>
/// Runs the image pipeline on the request <see cref="PrepareNixImage"/> wrote: the pipeline decides whether the
/// image is up to date, builds what is not, and sends the image to every sink the request names, plus
/// <see cref="ImageSinkTask.Registry"/> when set. Coded exceptions become MSBuild errors (<c>NIXIMG###</c>) without stack traces.
/// </summary>
public sealed class BuildNixImage : ImageSinkTask
{
    /// <summary>One platform of a multi-platform publish: build into the layer cache only (<see cref="BuildNixImageIndex"/> writes the index).</summary>
    public bool PlatformOnly { get; set; }

    protected override string CancelledMessage => "Image build cancelled; nothing was written.";

    protected override void Run(CancellationToken cancellationToken) =>
        SetOutputs(ImageJob.RunAsync(RequestFile, Prepared, RegistrySettings, new MSBuildLog(Log), Environment.GetEnvironmentVariable, cancellationToken, PlatformOnly, new PullSettings(InsecureRegistries, RegistryTimeout)).GetAwaiter().GetResult());
}

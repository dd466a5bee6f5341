using Nixery.Build.Diagnostics;
using Nixery.Build.Oci;

namespace Nixery.Build.Settings;

/// <summary>
/// The checks of a request's settings, in one place: the factory runs them on every request it makes (so
/// ComputeNixImageProperties reports a bad setting), and the pipeline runs them again on whatever request it is given
/// (one made by other code, or a request file), together with what only the image step can check.
/// </summary>
public static class ImageRequestChecks
{
    /// <summary>Everything the image step needs before it starts: the settings, the publish folder, something to run.</summary>
    public static void Validate(ImageRequest request)
    {
        if (!Directory.Exists(request.PublishDirectory))
        {
            throw new NixImageException(
                ErrorCodes.PublishOutputMissing,
                $"The publish folder '{request.PublishDirectory}' does not exist. Run the image step after Publish (dotnet publish -p:NixImage=true).");
        }

        if (request.Entrypoint.Count == 0 && request.Command.Count == 0)
        {
            throw new NixImageException(ErrorCodes.InvalidImageSetting, "The image has no entry point and no command. Set ContainerAppCommand, or publish an app with an apphost or a .dll.");
        }

        ValidateSettings(request);
    }

    /// <summary>The settings alone: names, tags, budget, working directory, environment, labels, user.</summary>
    public static void ValidateSettings(ImageRequest request)
    {
        ImageNames.ValidateRepository(request.Repository);
        if (request.Tags.Count == 0)
        {
            throw new NixImageException(ErrorCodes.InvalidImageName, "No image tag is set. Set ContainerImageTag or ContainerImageTags.");
        }

        foreach (var tag in request.Tags)
        {
            ImageNames.ValidateTag(tag);
        }

        LayerMediaType(request);
        if (request.LayerBudget < 1)
        {
            throw new NixImageException(ErrorCodes.LayerLimit, $"NixLayerBudget is {request.LayerBudget}, but it must be at least 1. Set it to a number from 1 to {ImageDefaults.MaxLayers - 2}.");
        }

        if (ImageSettings.WorkingDirectory(request.WorkingDirectory) != request.WorkingDirectory)
        {
            throw new NixImageException(ErrorCodes.InvalidImageSetting, $"ContainerWorkingDirectory '{request.WorkingDirectory}' is not in canonical form. Use a path such as /app.");
        }

        foreach (var (name, _) in request.Environment)
        {
            ImageSettings.ValidateEnvironmentName(name);
        }

        foreach (var (key, _) in request.Labels)
        {
            ImageSettings.ValidateLabelKey(key);
        }

        if (request.User is { } user)
        {
            ImageSettings.ValidateUser(user, namesKnown: request.BaseImage is null);
        }
    }

    /// <summary>The media types of the request's format (ContainerImageFormat).</summary>
    public static ImageMediaTypes MediaTypes(ImageRequest request) => request.Format == ImageFormat.Docker ? ImageMediaTypes.Docker : ImageMediaTypes.Oci;

    /// <summary>The media type of the layers the image makes, in its format; a coded error when the format has none for the compression.</summary>
    public static string LayerMediaType(ImageRequest request) =>
        MediaTypes(request).Layer(request.LayerCompression)
        ?? throw new NixImageException(
            ErrorCodes.LayerCompressionNotInFormat,
            $"NixImageLayerCompression is {request.LayerCompression.ToString().ToLowerInvariant()}, but ContainerImageFormat {request.Format} has no media type for such layers (Docker's v2 schema knows only gzip and plain tar). Use ContainerImageFormat=OCI (the default) with zstd, or NixImageLayerCompression=gzip.");
}

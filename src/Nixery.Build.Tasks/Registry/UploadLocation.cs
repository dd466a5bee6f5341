namespace Nixery.Build.Registry;

/// <summary>
/// Where an upload goes next. Registries answer with a <c>Location</c> that may be absolute
/// (<c>https://host/v2/app/blobs/uploads/uuid?_state=…</c>), absolute-path (<c>/v2/app/blobs/uploads/uuid</c>) or
/// relative; it is resolved against the URL of the request it answered, and its query is kept as the registry
/// wrote it (it often carries the upload's state).
/// </summary>
public static class UploadLocation
{
    public static Uri Resolve(Uri requestUri, string? location)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new FormatException("The registry's answer has no Location header.");
        }

        var text = location.Trim();
        if (Uri.TryCreate(text, UriKind.Absolute, out var absolute) && (absolute.Scheme == Uri.UriSchemeHttp || absolute.Scheme == Uri.UriSchemeHttps))
        {
            return absolute;
        }

        if (Uri.TryCreate(requestUri, text, out var resolved))
        {
            // A registry speaks HTTP: a Location elsewhere (file:, ftp:) would send the build to read or write what it must not.
            return resolved.Scheme == Uri.UriSchemeHttp || resolved.Scheme == Uri.UriSchemeHttps
                ? resolved
                : throw new FormatException($"The registry's Location '{text}' is not an http or https URL.");
        }

        throw new FormatException($"The registry's Location '{text}' is not a URL.");
    }

    /// <summary>Adds <c>name=value</c> to the URL's query, after what the registry put there.</summary>
    public static Uri WithQuery(Uri location, string name, string value)
    {
        var builder = new UriBuilder(location);
        var pair = Uri.EscapeDataString(name) + "=" + Uri.EscapeDataString(value);
        var query = builder.Query.TrimStart('?');
        builder.Query = query.Length == 0 ? pair : query + "&" + pair;
        return builder.Uri;
    }
}

namespace Nixery.Build.Registry;

/// <summary>
/// A user name and password, or an identity (refresh) token, and where they were found. Its text never shows
/// the secret: <see cref="ToString"/> names only the user and the source, so a credential that slips into a
/// message leaks nothing.
/// </summary>
public sealed class RegistryCredential
{
    private RegistryCredential(string? userName, string? password, string? identityToken, string source)
    {
        UserName = userName;
        Password = password;
        IdentityToken = identityToken;
        Source = source;
    }

    public string? UserName { get; }

    public string? Password { get; }

    /// <summary>An OAuth2 refresh token for the registry's token service (Docker's <c>identitytoken</c>).</summary>
    public string? IdentityToken { get; }

    /// <summary>Where it came from, for messages: <c>DOTNET_CONTAINER_REGISTRY_UNAME</c>, a file, a helper.</summary>
    public string Source { get; }

    public bool HasPassword => UserName is not null && Password is not null;

    public static RegistryCredential FromPassword(string userName, string password, string source) => new(userName, password, null, source);

    public static RegistryCredential FromIdentityToken(string? userName, string token, string source) => new(userName, null, token, source);

    public override string ToString() => UserName is null ? $"an identity token from {Source}" : $"user '{UserName}' from {Source}";
}

namespace Nixery.Build.Diagnostics;

/// <summary>
/// A failure the user can act on. Carries a stable <c>NIXIMG###</c> code (see docs/errors.md);
/// the message states the cause in one sentence and the remedy in another. Tasks log it as an
/// MSBuild error without a stack trace.
/// </summary>
public sealed class NixImageException : Exception
{
    public NixImageException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    public NixImageException(string code, string message, Exception innerException)
        : base(message, innerException)
    {
        Code = code;
    }

    public string Code { get; }
}

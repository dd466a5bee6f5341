using System.Text;

namespace Nixery.Build.Registry;

/// <summary>
/// One challenge of a <c>WWW-Authenticate</c> header (RFC 9110 §11.6.1): a scheme and its parameters, e.g.
/// <c>Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:app:pull"</c>.
/// Parameter names are case-insensitive; values are unquoted and unescaped.
/// </summary>
public sealed class AuthChallenge
{
    private readonly Dictionary<string, string> _parameters;

    public AuthChallenge(string scheme, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        Scheme = scheme;
        _parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in parameters)
        {
            _parameters.TryAdd(name, value);
        }
    }

    public string Scheme { get; }

    public IReadOnlyDictionary<string, string> Parameters => _parameters;

    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);

    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    public string? this[string name] => _parameters.TryGetValue(name, out var value) ? value : null;

    public override string ToString() => $"{Scheme} ({string.Join(", ", _parameters.Keys)})";

    /// <summary>
    /// Every challenge in the header values: one value may hold several challenges separated by commas
    /// (<c>Basic realm="r", Bearer realm="t",service="s"</c>). Malformed parts are skipped, not fatal.
    /// </summary>
    public static List<AuthChallenge> Parse(IEnumerable<string> headerValues)
    {
        var challenges = new List<AuthChallenge>();
        foreach (var value in headerValues)
        {
            new Parser(value).ReadAll(challenges);
        }

        return challenges;
    }

    public static List<AuthChallenge> Parse(string headerValue) => Parse([headerValue]);

    /// <summary>The challenge to answer: Bearer when offered (it carries the scope), else Basic, else none.</summary>
    public static AuthChallenge? Preferred(IEnumerable<AuthChallenge> challenges)
    {
        var list = challenges.ToList();
        return list.Find(c => c.IsBearer) ?? list.Find(c => c.IsBasic);
    }

    private ref struct Parser
    {
        private readonly ReadOnlySpan<char> _text;
        private int _position;

        public Parser(string text)
        {
            _text = text;
            _position = 0;
        }

        public void ReadAll(List<AuthChallenge> challenges)
        {
            while (true)
            {
                SkipSeparators();
                if (_position >= _text.Length)
                {
                    return;
                }

                var scheme = ReadToken();
                if (scheme.Length == 0)
                {
                    // Not a token where a scheme should start: skip one character and go on.
                    _position++;
                    continue;
                }

                challenges.Add(new AuthChallenge(scheme, ReadParameters()));
            }
        }

        private List<KeyValuePair<string, string>> ReadParameters()
        {
            var parameters = new List<KeyValuePair<string, string>>();
            while (true)
            {
                var start = _position;
                SkipSeparators();
                var name = ReadToken();
                SkipSpaces();
                if (name.Length == 0 || Peek() != '=')
                {
                    // The next challenge's scheme (or something unreadable): leave it for the caller.
                    _position = start;
                    return parameters;
                }

                _position++; // '='
                SkipSpaces();
                var value = Peek() == '"' ? ReadQuoted() : ReadToken();
                parameters.Add(new(name, value));
                SkipSpaces();
                if (Peek() == ',')
                {
                    _position++;
                }
                else
                {
                    return parameters;
                }
            }
        }

        private readonly char Peek() => _position < _text.Length ? _text[_position] : '\0';

        private void SkipSpaces()
        {
            while (_position < _text.Length && _text[_position] is ' ' or '\t')
            {
                _position++;
            }
        }

        private void SkipSeparators()
        {
            while (_position < _text.Length && _text[_position] is ' ' or '\t' or ',')
            {
                _position++;
            }
        }

        private string ReadToken() => ReadWhile(IsTokenChar);

        private string ReadWhile(Func<char, bool> accept)
        {
            var start = _position;
            while (_position < _text.Length && accept(_text[_position]))
            {
                _position++;
            }

            return _text[start.._position].ToString();
        }

        private string ReadQuoted()
        {
            var value = new StringBuilder();
            _position++; // opening quote
            while (_position < _text.Length)
            {
                var c = _text[_position++];
                if (c == '"')
                {
                    return value.ToString();
                }

                if (c == '\\' && _position < _text.Length)
                {
                    c = _text[_position++];
                }

                value.Append(c);
            }

            return value.ToString();
        }

        // RFC 9110 tchar.
        private static bool IsTokenChar(char c) =>
            char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
    }
}

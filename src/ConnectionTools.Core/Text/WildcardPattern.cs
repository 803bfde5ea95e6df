using System;
using System.Collections.Generic;
using System.Text;

namespace ConnectionTools.Text
{
    /// <summary>
    /// PowerShell wildcard matching (* ? [abc] [a-z], ` escapes), case-insensitive, without a PowerShell reference.
    /// </summary>
    public sealed class WildcardPattern
    {
        private readonly List<Token> _tokens;

        private WildcardPattern(List<Token> tokens) => _tokens = tokens;

        public static bool ContainsWildcards(string pattern)
        {
            for (var i = 0; i < pattern.Length; i++)
            {
                switch (pattern[i])
                {
                    case '`':
                        i++;
                        break;
                    case '*':
                    case '?':
                    case '[':
                        return true;
                }
            }

            return false;
        }

        public static WildcardPattern Parse(string pattern)
        {
            var tokens = new List<Token>();
            var literal = new StringBuilder();
            void FlushLiteral()
            {
                if (literal.Length > 0)
                {
                    tokens.Add(Token.Literal(literal.ToString()));
                    literal.Clear();
                }
            }

            for (var i = 0; i < pattern.Length; i++)
            {
                var c = pattern[i];
                if (c == '`' && i + 1 < pattern.Length)
                {
                    literal.Append(pattern[++i]);
                }
                else if (c == '*')
                {
                    FlushLiteral();
                    if (tokens.Count == 0 || tokens[tokens.Count - 1].Kind != TokenKind.Star)
                    {
                        tokens.Add(Token.Star);
                    }
                }
                else if (c == '?')
                {
                    FlushLiteral();
                    tokens.Add(Token.AnyOne);
                }
                else if (c == '[')
                {
                    var close = pattern.IndexOf(']', i + 1);
                    if (close < 0)
                    {
                        // An unclosed bracket matches itself, as a literal.
                        literal.Append(c);
                        continue;
                    }

                    FlushLiteral();
                    tokens.Add(Token.Set(pattern.Substring(i + 1, close - i - 1)));
                    i = close;
                }
                else
                {
                    literal.Append(c);
                }
            }

            FlushLiteral();
            return new WildcardPattern(tokens);
        }

        public bool IsMatch(string input) => Match(input, 0, 0);

        private bool Match(string input, int pos, int tokenIndex)
        {
            while (tokenIndex < _tokens.Count)
            {
                var token = _tokens[tokenIndex];
                switch (token.Kind)
                {
                    case TokenKind.Literal:
                        if (pos + token.Text.Length > input.Length ||
                            string.Compare(input, pos, token.Text, 0, token.Text.Length, StringComparison.OrdinalIgnoreCase) != 0)
                        {
                            return false;
                        }

                        pos += token.Text.Length;
                        break;
                    case TokenKind.AnyOne:
                        if (pos >= input.Length)
                        {
                            return false;
                        }

                        pos++;
                        break;
                    case TokenKind.Set:
                        if (pos >= input.Length || !token.SetContains(input[pos]))
                        {
                            return false;
                        }

                        pos++;
                        break;
                    case TokenKind.Star:
                        if (tokenIndex == _tokens.Count - 1)
                        {
                            return true;
                        }

                        for (var start = pos; start <= input.Length; start++)
                        {
                            if (Match(input, start, tokenIndex + 1))
                            {
                                return true;
                            }
                        }

                        return false;
                }

                tokenIndex++;
            }

            return pos == input.Length;
        }

        private enum TokenKind
        {
            Literal,
            AnyOne,
            Star,
            Set,
        }

        private sealed class Token
        {
            public static readonly Token Star = new Token(TokenKind.Star, "");
            public static readonly Token AnyOne = new Token(TokenKind.AnyOne, "");

            private Token(TokenKind kind, string text)
            {
                Kind = kind;
                Text = text;
            }

            public TokenKind Kind { get; }

            public string Text { get; }

            public static Token Literal(string text) => new Token(TokenKind.Literal, text);

            public static Token Set(string body) => new Token(TokenKind.Set, body);

            public bool SetContains(char c)
            {
                var lower = char.ToLowerInvariant(c);
                for (var i = 0; i < Text.Length; i++)
                {
                    if (i + 2 < Text.Length && Text[i + 1] == '-')
                    {
                        var from = char.ToLowerInvariant(Text[i]);
                        var to = char.ToLowerInvariant(Text[i + 2]);
                        if (lower >= from && lower <= to)
                        {
                            return true;
                        }

                        i += 2;
                    }
                    else if (char.ToLowerInvariant(Text[i]) == lower)
                    {
                        return true;
                    }
                }

                return false;
            }
        }
    }
}

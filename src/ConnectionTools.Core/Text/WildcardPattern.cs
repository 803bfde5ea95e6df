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
                    var set = ReadSet(pattern, i + 1, out var close);
                    if (set is null)
                    {
                        // An unclosed bracket matches itself, as a literal (PowerShell refuses the pattern).
                        literal.Append(c);
                        continue;
                    }

                    FlushLiteral();
                    tokens.Add(Token.Set(set));
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

        /// <summary>
        /// The ranges of a bracket expression starting at <paramref name="start"/> (after the '['), up to the first ']' that
        /// is not escaped; null when there is none. A backtick escapes the next character, so [`]] holds ']' and [a`-c]
        /// holds 'a', '-' and 'c'; an unescaped '-' between two characters makes a range.
        /// </summary>
        private static List<(char From, char To)>? ReadSet(string pattern, int start, out int close)
        {
            var chars = new List<(char Value, bool Escaped)>();
            for (close = start; close < pattern.Length; close++)
            {
                var c = pattern[close];
                if (c == ']')
                {
                    var ranges = new List<(char From, char To)>();
                    for (var i = 0; i < chars.Count; i++)
                    {
                        if (i + 2 < chars.Count && chars[i + 1] == ('-', false))
                        {
                            ranges.Add((chars[i].Value, chars[i + 2].Value));
                            i += 2;
                        }
                        else
                        {
                            ranges.Add((chars[i].Value, chars[i].Value));
                        }
                    }

                    return ranges;
                }

                if (c == '`' && close + 1 < pattern.Length)
                {
                    chars.Add((pattern[++close], true));
                }
                else
                {
                    chars.Add((c, false));
                }
            }

            return null;
        }

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
            public static readonly Token Star = new Token(TokenKind.Star, "", null);
            public static readonly Token AnyOne = new Token(TokenKind.AnyOne, "", null);

            private readonly List<(char From, char To)>? _ranges;

            private Token(TokenKind kind, string text, List<(char From, char To)>? ranges)
            {
                Kind = kind;
                Text = text;
                _ranges = ranges;
            }

            public TokenKind Kind { get; }

            public string Text { get; }

            public static Token Literal(string text) => new Token(TokenKind.Literal, text, null);

            public static Token Set(List<(char From, char To)> ranges) => new Token(TokenKind.Set, "", ranges);

            public bool SetContains(char c)
            {
                var lower = char.ToLowerInvariant(c);
                foreach (var (from, to) in _ranges!)
                {
                    if (lower >= char.ToLowerInvariant(from) && lower <= char.ToLowerInvariant(to))
                    {
                        return true;
                    }
                }

                return false;
            }
        }
    }
}

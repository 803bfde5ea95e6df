using System.Globalization;
using System.Text;

namespace ConnectionTools.Text
{
    /// <summary>A minimal JSON object writer for flat snapshots (the audit's before and after).</summary>
    internal sealed class JsonObjectWriter
    {
        private readonly StringBuilder _builder = new StringBuilder("{");
        private bool _first = true;

        public JsonObjectWriter Add(string name, string? value)
        {
            Name(name);
            if (value is null)
            {
                _builder.Append("null");
            }
            else
            {
                AppendString(_builder, value);
            }

            return this;
        }

        public JsonObjectWriter Add(string name, long value)
        {
            Name(name);
            _builder.Append(value.ToString(CultureInfo.InvariantCulture));
            return this;
        }

        public override string ToString() => _builder.ToString() + "}";

        private void Name(string name)
        {
            if (!_first)
            {
                _builder.Append(',');
            }

            _first = false;
            AppendString(_builder, name);
            _builder.Append(':');
        }

        private static void AppendString(StringBuilder builder, string value)
        {
            builder.Append('"');
            foreach (var c in value)
            {
                switch (c)
                {
                    case '"': builder.Append("\\\""); break;
                    case '\\': builder.Append("\\\\"); break;
                    case '\n': builder.Append("\\n"); break;
                    case '\r': builder.Append("\\r"); break;
                    case '\t': builder.Append("\\t"); break;
                    default:
                        if (c < 0x20)
                        {
                            builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            builder.Append(c);
                        }

                        break;
                }
            }

            builder.Append('"');
        }
    }
}

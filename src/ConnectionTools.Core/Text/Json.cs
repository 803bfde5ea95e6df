using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ConnectionTools.Text
{
    /// <summary>A flat JSON object (the audit's before and after), written with <see cref="Utf8JsonWriter"/>.</summary>
    internal sealed class JsonObjectWriter
    {
        // Stored in the database and shown in PowerShell, never embedded in HTML: names in any script stay readable.
        private static readonly JsonWriterOptions Options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        private readonly MemoryStream _buffer = new MemoryStream();
        private readonly Utf8JsonWriter _writer;
        private string? _text;

        public JsonObjectWriter()
        {
            _writer = new Utf8JsonWriter(_buffer, Options);
            _writer.WriteStartObject();
        }

        public JsonObjectWriter Add(string name, string? value)
        {
            if (value is null)
            {
                _writer.WriteNull(name);
            }
            else
            {
                _writer.WriteString(name, value);
            }

            return this;
        }

        public JsonObjectWriter Add(string name, long value)
        {
            _writer.WriteNumber(name, value);
            return this;
        }

        /// <summary>The object, closed: nothing can be added after this.</summary>
        public override string ToString()
        {
            if (_text is null)
            {
                _writer.WriteEndObject();
                _writer.Flush();
                _text = Encoding.UTF8.GetString(_buffer.GetBuffer(), 0, (int)_buffer.Length);
            }

            return _text;
        }
    }
}

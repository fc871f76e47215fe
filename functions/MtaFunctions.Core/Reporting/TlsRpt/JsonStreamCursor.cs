using System.Buffers;
using System.Text.Json;

namespace MtaFunctions.Core.Reporting.TlsRpt;

/// <summary>
/// Walks JSON from a stream token by token through a small rolling buffer (<see cref="Utf8JsonReader"/> over
/// one block at a time), so a document of any size is read in memory the size of its largest single value.
/// </summary>
/// <remarks>
/// Whitespace and skipped values are dropped as they pass; only a value handed out whole
/// (<see cref="Capture"/>) must fit the buffer, which grows to at most <see cref="MaxValueBytes"/>.
/// </remarks>
internal sealed class JsonStreamCursor : IDisposable
{
    /// <summary>Largest single token or captured value; no field of a real report comes near.</summary>
    public const int MaxValueBytes = 128 * 1024;

    /// <summary>Longest raw string decoded into <see cref="Text"/>; longer ones only report their length.</summary>
    private const int MaxDecodedBytes = 8 * 1024;

    private readonly Stream _input;
    private readonly int _maxDepth;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _start;
    private int _end;
    private bool _final;
    private bool _first = true;
    private JsonReaderState _state;

    public JsonStreamCursor(Stream input, int maxDepth)
    {
        _input = input;
        _maxDepth = maxDepth;
        _state = new JsonReaderState(new JsonReaderOptions { MaxDepth = maxDepth });
    }

    /// <summary>The token last read.</summary>
    public JsonTokenType Token { get; private set; }

    /// <summary>The decoded text of the last string or property name; null when too long or not valid text.</summary>
    public string? Text { get; private set; }

    /// <summary>The last string is not valid text (invalid UTF-8 or an unpaired surrogate).</summary>
    public bool TextInvalid { get; private set; }

    /// <summary>Length in bytes of the last string as written (escapes included).</summary>
    public int RawLength { get; private set; }

    /// <summary>Reads the next token; false at the end of the document.</summary>
    /// <param name="field">The field being read, named when the token is too large.</param>
    /// <exception cref="JsonException">Not valid JSON.</exception>
    /// <exception cref="TlsRptReportFormatException">A token larger than <see cref="MaxValueBytes"/>.</exception>
    public bool Read(string field)
    {
        Start(field);
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _final, _state);
            var read = reader.Read();
            if (read)
            {
                Describe(ref reader);
            }

            // Taken even when the token is incomplete: the whitespace before it is gone for good.
            _start += (int)reader.BytesConsumed;
            _state = reader.CurrentState;
            if (read)
            {
                return true;
            }

            if (_final)
            {
                return false;
            }

            Fill(field);
        }
    }

    /// <summary>Skips the rest of the value whose first token was just read.</summary>
    public void SkipValue(string field)
    {
        if (Token is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return;
        }

        var depth = 1;
        while (depth > 0 && Read(field))
        {
            if (Token is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                depth++;
            }
            else if (Token is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                depth--;
            }
        }
    }

    /// <summary>
    /// Reads the next value whole as a document over the buffer (dispose it before the next read); null when the
    /// next token ends the enclosing array or object instead.
    /// </summary>
    public JsonDocument? Capture(string field)
    {
        Start(field);
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_start, _end - _start), _final, _state);
            if (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.EndArray or JsonTokenType.EndObject)
                {
                    Token = reader.TokenType;
                    _start += (int)reader.BytesConsumed;
                    _state = reader.CurrentState;
                    return null;
                }

                var from = (int)reader.TokenStartIndex;
                if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray) || reader.TrySkip())
                {
                    var value = _buffer.AsMemory(_start + from, (int)reader.BytesConsumed - from);
                    Token = reader.TokenType;
                    _start += (int)reader.BytesConsumed;
                    _state = reader.CurrentState;
                    return JsonDocument.Parse(value, new JsonDocumentOptions { MaxDepth = _maxDepth });
                }

                // Incomplete: read on from the same place once more of it is in the buffer.
            }
            else
            {
                _start += (int)reader.BytesConsumed;
                _state = reader.CurrentState;
                if (_final)
                {
                    throw new JsonException("The JSON ends inside a value.");
                }
            }

            Fill(field);
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, []);
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Describe(ref Utf8JsonReader reader)
    {
        Token = reader.TokenType;
        Text = null;
        TextInvalid = false;
        if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName)
        {
            RawLength = reader.ValueSpan.Length;
            if (RawLength <= MaxDecodedBytes)
            {
                try
                {
                    Text = reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    TextInvalid = true;
                }
            }
        }
    }

    private void Fill(string field)
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        if (_end == Math.Min(_buffer.Length, MaxValueBytes))
        {
            // The reader keeps whitespace it cannot yet place (after a comma or colon whose next token has not
            // arrived); a long run of it must not fill the buffer.
            Compact();
        }

        if (_end == Math.Min(_buffer.Length, MaxValueBytes))
        {
            if (_end >= MaxValueBytes)
            {
                throw new TlsRptReportFormatException(field, $"holds a JSON value larger than {MaxValueBytes} bytes");
            }

            var larger = ArrayPool<byte>.Shared.Rent(Math.Min(MaxValueBytes, _buffer.Length * 2));
            _buffer.AsSpan(0, _end).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }

        // Fill the buffer: a value is tried again from its start after each fill, so fills must not be small.
        var capacity = Math.Min(_buffer.Length, MaxValueBytes);
        while (_end < capacity)
        {
            var n = _input.Read(_buffer, _end, capacity - _end);
            if (n == 0)
            {
                _final = true;
                return;
            }

            _end += n;
        }
    }

    /// <summary>
    /// Shortens every run of whitespace outside strings in the unread bytes to one space: it means nothing
    /// between tokens (RFC 8259 §2), and one space still keeps two tokens apart. The unread bytes start at a
    /// token boundary, so strings are told apart by their quotes.
    /// </summary>
    private void Compact()
    {
        var w = _start;
        bool inString = false, escaped = false, space = false;
        for (var r = _start; r < _end; r++)
        {
            var b = _buffer[r];
            if (inString)
            {
                if (escaped)
                {
                    escaped = false;
                }
                else if (b == (byte)'\\')
                {
                    escaped = true;
                }
                else if (b == (byte)'"')
                {
                    inString = false;
                }

                _buffer[w++] = b;
                continue;
            }

            if (b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r')
            {
                if (!space)
                {
                    _buffer[w++] = (byte)' ';
                }

                space = true;
                continue;
            }

            space = false;
            inString = b == (byte)'"';
            _buffer[w++] = b;
        }

        _end = w;
    }

    private void Start(string field)
    {
        if (!_first)
        {
            return;
        }

        while (!_final && _end < 3)
        {
            Fill(field);
        }

        _first = false;

        // RFC 8259 §8.1: a parser MAY ignore a byte order mark; some reporters write one.
        if (_end >= 3 && _buffer.AsSpan(0, 3).SequenceEqual((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            _start = 3;
        }
    }
}

using Google.Protobuf;
using Mesh.Gateway.GrpcWire;
using Mesh.Inference.V1;

namespace Mesh.Gateway.Metering;

/// <summary>
/// Counts the tokens a generating RPC's response stream reports, reading the bytes as they pass in
/// arbitrary chunks without buffering messages: gRPC frames (PROTOCOL-HTTP2.md) are followed header
/// by header, and inside each message only the top-level protobuf fields are walked (encoding guide,
/// "Message Structure"). The ids field of <see cref="GenerationMethods.Layout"/> is counted varint by
/// varint; the usage field (a few bytes) is the only thing kept, to read <c>completion_tokens</c>;
/// every other field is skipped by its length. Memory stays constant for any response size, so a
/// 100 MiB completion is metered like a small one.
/// Per message: the ids it carries, topped up to <c>usage.completion_tokens</c> when that reports
/// more than was counted, so Generate (streamed) and Complete (unary) follow one rule and a stream
/// cut short is charged for what it delivered. Compressed messages cannot be read this way and are
/// not counted (the gateway asks the service for identity encoding).
/// </summary>
public sealed class GeneratedTokenScanner(GenerationMethods.Layout layout, Action<long> charge)
{
    // A Usage message is five scalars (< 40 bytes); anything longer is not one and is skipped.
    private const int MaxUsageBytes = 256;

    private enum State { FrameHeader, Tag, Length, Skip, SkipVarint, PackedIds, Usage }

    private readonly byte[] _frameHeader = new byte[GrpcFrame.HeaderSize];
    private readonly byte[] _usage = new byte[MaxUsageBytes];
    private State _state = State.FrameHeader;
    private int _frameHeaderFilled;
    private long _messageLeft;   // bytes of the current message not yet consumed
    private bool _compressed;
    private ulong _varint;       // the tag or length being read
    private int _varintShift;
    private int _field;
    private long _fieldLeft;     // bytes of the current length-delimited field not yet consumed
    private int _usageFilled;
    private long _idsInMessage;
    private int? _reported;
    private int _stepUsed;       // bytes of the chunk Step consumed so far

    /// <summary>Tokens charged so far for the call.</summary>
    public long Counted { get; private set; }

    /// <summary>Set when the stream is not gRPC framing or a message is not protobuf; scanning stops.</summary>
    public bool Corrupt { get; private set; }

    /// <summary>Feeds the next response bytes; generated tokens found in them are counted.</summary>
    public void Push(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty && !Corrupt)
        {
            if (_state == State.FrameHeader)
            {
                var take = Math.Min(GrpcFrame.HeaderSize - _frameHeaderFilled, data.Length);
                data[..take].CopyTo(_frameHeader.AsSpan(_frameHeaderFilled));
                _frameHeaderFilled += take;
                data = data[take..];
                if (_frameHeaderFilled < GrpcFrame.HeaderSize)
                {
                    return;
                }

                _frameHeaderFilled = 0;
                if (!GrpcFrame.TryReadHeader(_frameHeader, out _compressed, out var length))
                {
                    Corrupt = true;
                    return;
                }

                BeginMessage(length);
                continue;
            }

            // Inside a message: never read past its end.
            var inMessage = (int)Math.Min(data.Length, _messageLeft);
            var used = _compressed ? inMessage : Step(data[..inMessage]);
            if (_compressed)
            {
                _fieldLeft = 0;
            }

            _messageLeft -= used;
            data = data[used..];
            if (_messageLeft == 0)
            {
                EndMessage();
            }
        }
    }

    private void BeginMessage(int length)
    {
        _messageLeft = length;
        _idsInMessage = 0;
        _reported = null;
        _state = _compressed ? State.Skip : State.Tag;
        _varint = 0;
        _varintShift = 0;
        if (length == 0)
        {
            EndMessage();
        }
    }

    private void EndMessage()
    {
        if (_state is not (State.Tag or State.Skip) || _fieldLeft > 0 || _varintShift > 0)
        {
            // The message ended inside a field: not the protobuf its method returns.
            Corrupt = !_compressed;
        }

        var added = _idsInMessage;
        if (_reported is { } reported && reported > Counted + added)
        {
            added = reported - Counted;
        }

        if (added > 0)
        {
            Counted += added;
            charge(added);
        }

        _state = State.FrameHeader;
    }

    /// <summary>Consumes bytes of the current message; returns how many it used (all of them unless corrupt).</summary>
    private int Step(ReadOnlySpan<byte> data)
    {
        ref var used = ref _stepUsed;
        used = 0;
        while (used < data.Length && !Corrupt)
        {
            switch (_state)
            {
                case State.Tag:
                case State.Length:
                case State.SkipVarint:
                    if (!ReadVarint(data[used++]))
                    {
                        break;
                    }

                    if (_state == State.SkipVarint)
                    {
                        _idsInMessage += _field == layout.TokenIdsField ? 1 : 0;
                        _state = State.Tag;
                    }
                    else if (_state == State.Tag)
                    {
                        OnTag(_varint);
                    }
                    else
                    {
                        OnLength(_varint);
                    }

                    _varint = 0;
                    _varintShift = 0;
                    break;

                case State.Skip:
                {
                    var n = (int)Math.Min(_fieldLeft, data.Length - used);
                    used += n;
                    _fieldLeft -= n;
                    _state = _fieldLeft == 0 ? State.Tag : State.Skip;
                    break;
                }

                case State.PackedIds:
                {
                    var n = (int)Math.Min(_fieldLeft, data.Length - used);
                    foreach (var b in data.Slice(used, n))
                    {
                        // Each varint ends with the one byte whose continuation bit is clear.
                        _idsInMessage += (b & 0x80) == 0 ? 1 : 0;
                    }

                    used += n;
                    _fieldLeft -= n;
                    _state = _fieldLeft == 0 ? State.Tag : State.PackedIds;
                    break;
                }

                case State.Usage:
                {
                    var n = (int)Math.Min(_fieldLeft, data.Length - used);
                    data.Slice(used, n).CopyTo(_usage.AsSpan(_usageFilled));
                    _usageFilled += n;
                    used += n;
                    _fieldLeft -= n;
                    if (_fieldLeft == 0)
                    {
                        ReadUsage();
                        _state = State.Tag;
                    }

                    break;
                }
            }
        }

        return used;
    }

    private bool ReadVarint(byte b)
    {
        if (_varintShift >= 64)
        {
            Corrupt = true;
            return false;
        }

        _varint |= (ulong)(b & 0x7F) << _varintShift;
        _varintShift += 7;
        return (b & 0x80) == 0;
    }

    private void OnTag(ulong tag)
    {
        _field = (int)Math.Min(tag >> 3, int.MaxValue);
        switch ((WireFormat.WireType)(tag & 7))
        {
            case WireFormat.WireType.Varint:
                _state = State.SkipVarint;
                break;
            case WireFormat.WireType.Fixed64:
                _fieldLeft = 8;
                _state = State.Skip;
                break;
            case WireFormat.WireType.Fixed32:
                _fieldLeft = 4;
                _state = State.Skip;
                break;
            case WireFormat.WireType.LengthDelimited:
                _state = State.Length;
                break;
            default:
                // Groups are not used by proto3; anything else is not protobuf.
                Corrupt = true;
                break;
        }
    }

    private void OnLength(ulong length)
    {
        if (length > (ulong)(_messageLeft - _stepUsed))
        {
            Corrupt = true;
            return;
        }

        _fieldLeft = (long)length;
        _state = _field == layout.TokenIdsField ? State.PackedIds
            : _field == layout.UsageField && length <= MaxUsageBytes ? State.Usage
            : State.Skip;
        _usageFilled = 0;
        if (_fieldLeft == 0)
        {
            if (_state == State.Usage)
            {
                ReadUsage();
            }

            _state = State.Tag;
        }
    }

    private void ReadUsage()
    {
        try
        {
            _reported = Usage.Parser.ParseFrom(_usage.AsSpan(0, _usageFilled)).CompletionTokens;
        }
        catch (InvalidProtocolBufferException)
        {
            Corrupt = true;
        }
    }
}

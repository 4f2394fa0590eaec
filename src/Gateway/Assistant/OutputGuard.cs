using System.Diagnostics;
using System.Text;
using Grpc.Core;
using Mesh.Guard.V1;
using GuardAction = Mesh.Guard.V1.Action;

namespace Mesh.Gateway.Assistant;

/// <summary>
/// Checks the answer as it streams (Guard CheckStream, STAGE_OUTPUT) and decides what may be sent to
/// the caller. Text is released only once the guard has judged the text after it, keeping the last
/// <see cref="AssistantOptions.OutputHoldbackChars"/> characters back, so an entity to redact is
/// usually caught before any of it leaves. From the first REDACT verdict on, nothing more is released
/// until the guard's final, redacted text arrives; its part after what was already sent goes out then.
/// The call is opened with its first chunk: the gateway holds a client stream until its first message
/// arrives, and Kestrel's minimum request data rate would cut an idle one while the model warms up.
/// </summary>
internal sealed class OutputGuard(Func<AsyncDuplexStreamingCall<CheckStreamRequest, CheckStreamResponse>> open, AssistantOptions options) : IDisposable
{
    private AsyncDuplexStreamingCall<CheckStreamRequest, CheckStreamResponse>? _call;

    private readonly StringBuilder _answer = new();
    private readonly StringBuilder _unchecked = new();
    private readonly Stopwatch _waiting = new();
    private bool _started;
    private bool _holding;
    private int _sent;

    /// <summary>Time spent waiting for the guard.</summary>
    public TimeSpan Waited => _waiting.Elapsed;

    /// <summary>The whole answer as generated (before redaction).</summary>
    public string Answer => _answer.ToString();

    /// <summary>The answer as the caller received it.</summary>
    public StringBuilder Sent { get; } = new();

    /// <summary>Adds generated text; returns the text now safe to send, or the violations that block the answer.</summary>
    public async Task<(string Release, CheckStreamResponse? Blocked)> AppendAsync(string text, string policy, string requestId, CancellationToken ct)
    {
        _answer.Append(text);
        _unchecked.Append(text);
        if (_unchecked.Length < options.OutputCheckChunkChars)
        {
            return ("", null);
        }

        var response = await SendAsync(policy, requestId, ct).ConfigureAwait(false);
        if (response.Verdict == GuardAction.Block)
        {
            return ("", response);
        }

        _holding |= response.Verdict == GuardAction.Redact;
        return (_holding ? "" : Release(_answer.Length - options.OutputHoldbackChars), null);
    }

    /// <summary>Ends the check: the rest of the answer (redacted), the redactions, or the blocking violations.</summary>
    public async Task<(string Release, CheckStreamResponse Final)> CompleteAsync(string policy, string requestId, CancellationToken ct)
    {
        if (_unchecked.Length > 0 || !_started)
        {
            var last = await SendAsync(policy, requestId, ct).ConfigureAwait(false);
            if (last.Verdict == GuardAction.Block)
            {
                return ("", last);
            }
        }

        _waiting.Start();
        await _call!.RequestStream.CompleteAsync().ConfigureAwait(false);
        var final = await ReadAsync(ct).ConfigureAwait(false);
        _waiting.Stop();
        if (final.Verdict == GuardAction.Block)
        {
            return ("", final);
        }

        var checkedText = final.Verdict == GuardAction.Redact ? final.RedactedText : _answer.ToString();
        var sent = Sent.ToString();
        // Text already sent is never recalled; with the hold-back the redacted text starts with it.
        var rest = checkedText.StartsWith(sent, StringComparison.Ordinal) ? checkedText[sent.Length..] : "";
        Sent.Append(rest);
        return (rest, final);
    }

    /// <inheritdoc/>
    public void Dispose() => _call?.Dispose();

    private async Task<CheckStreamResponse> SendAsync(string policy, string requestId, CancellationToken ct)
    {
        var request = new CheckStreamRequest { Chunk = _unchecked.ToString() };
        if (!_started)
        {
            request.Stage = Stage.Output;
            request.Policy = policy;
            request.RequestId = requestId;
            _started = true;
            _call = open();
        }

        _unchecked.Clear();
        _waiting.Start();
        await _call!.RequestStream.WriteAsync(request, ct).ConfigureAwait(false);
        var response = request.Chunk.Length == 0 ? new CheckStreamResponse { Verdict = GuardAction.Allow } : await ReadAsync(ct).ConfigureAwait(false);
        _waiting.Stop();
        return response;
    }

    private async Task<CheckStreamResponse> ReadAsync(CancellationToken ct) =>
        await _call!.ResponseStream.MoveNext(ct).ConfigureAwait(false)
            ? _call.ResponseStream.Current
            : throw new RpcException(new Status(StatusCode.Internal, "the output guard ended its stream without a verdict"));

    private string Release(int upTo)
    {
        if (upTo > 0 && upTo < _answer.Length && char.IsLowSurrogate(_answer[upTo]))
        {
            upTo--;
        }

        if (upTo <= _sent)
        {
            return "";
        }

        var release = _answer.ToString(_sent, upTo - _sent);
        _sent = upTo;
        Sent.Append(release);
        return release;
    }
}

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
/// An answer that ends before its first chunk is due (short answers) is judged by one unary Check
/// instead: the same whole-text evaluation the stream's final verdict is, in one round trip rather
/// than a stream's two. When a stream is open, its last chunk and its end are sent together, and both
/// verdicts read after, so ending it costs one round trip too.
/// </summary>
public sealed class OutputGuard(
    Func<AsyncDuplexStreamingCall<CheckStreamRequest, CheckStreamResponse>> open,
    Func<CheckRequest, Task<CheckResponse>> check,
    AssistantOptions options) : IDisposable
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
        _waiting.Start();
        var final = _started ? await EndStreamAsync(ct).ConfigureAwait(false) : await CheckWholeAsync(policy, requestId).ConfigureAwait(false);
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
        var response = await ReadAsync(ct).ConfigureAwait(false);
        _waiting.Stop();
        return response;
    }

    /// <summary>Sends what is left unchecked and the end of the stream at once; the chunk's verdict (when it blocks) or the final one.</summary>
    private async Task<CheckStreamResponse> EndStreamAsync(CancellationToken ct)
    {
        var pending = _unchecked.Length > 0;
        if (pending)
        {
            await _call!.RequestStream.WriteAsync(new CheckStreamRequest { Chunk = _unchecked.ToString() }, ct).ConfigureAwait(false);
            _unchecked.Clear();
        }

        await _call!.RequestStream.CompleteAsync().ConfigureAwait(false);
        if (pending)
        {
            var last = await ReadAsync(ct).ConfigureAwait(false);
            if (last.Verdict == GuardAction.Block)
            {
                return last;
            }
        }

        return await ReadAsync(ct).ConfigureAwait(false);
    }

    /// <summary>The whole answer in one unary Check (STAGE_OUTPUT), as the stream's final verdict.</summary>
    private async Task<CheckStreamResponse> CheckWholeAsync(string policy, string requestId)
    {
        _started = true;
        var text = _unchecked.ToString();
        _unchecked.Clear();
        var response = await check(new CheckRequest { Stage = Stage.Output, Policy = policy, Text = text, RequestId = requestId }).ConfigureAwait(false);
        var final = new CheckStreamResponse
        {
            Verdict = response.Verdict,
            Final = true,
            RedactedText = response.RedactedText,
            Policy = response.Policy,
            PolicyVersion = response.PolicyVersion,
            Received = CodePointCount(text),
        };
        final.Violations.AddRange(response.Violations);
        return final;
    }

    private static int CodePointCount(string text)
    {
        var count = 0;
        foreach (var _ in text.EnumerateRunes())
        {
            count++;
        }

        return count;
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

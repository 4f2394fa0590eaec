using Mesh.Inference.Engine;
using Mesh.Inference.Models;
using Mesh.Inference.Sampling;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults.Errors;

namespace Mesh.Inference.Services;

/// <summary>
/// Turns a <see cref="GenerateRequest"/> into an engine request, or rejects it with
/// INVALID_ARGUMENT and a message naming the field and what to change.
/// </summary>
public static class GenerateRequestValidator
{
    /// <summary>Most <c>stop</c> strings one request may carry.</summary>
    public const int MaxStopSequences = 8;
    /// <summary>Most alternatives <c>top_logprobs</c> may ask for per token (OpenAI's limit).</summary>
    public const int MaxTopLogprobs = 20;

    /// <summary>
    /// The engine request for <paramref name="request"/> on <paramref name="model"/>: the prompt encoded
    /// (or its token ids checked against the vocabulary), sampling defaults applied, the response format
    /// compiled. Throws <see cref="ServiceException"/> INVALID_ARGUMENT naming the field for a bad value
    /// (no prompt or both kinds, a prompt at or past the context length, max_tokens ≤ 0, too many or
    /// malformed stop strings, top_logprobs out of range, response_format with stop or ignore_eos, a
    /// format that does not compile), FAILED_PRECONDITION for a format the vocabulary cannot spell.
    /// </summary>
    public static GenerationRequest Validate(GenerateRequest request, LlamaModel model)
    {
        var tokenizer = model.Tokenizer;
        int[] prompt;
        if (request.PromptTokenIds.Count > 0)
        {
            Require(request.Prompt.Length == 0, "give either prompt or prompt_token_ids, not both");
            foreach (var id in request.PromptTokenIds)
            {
                Require(tokenizer.IsValid(id), $"prompt_token_ids: {id} is not a token id of model '{model.Id}' (valid: 0 to {tokenizer.VocabSize - 1})");
            }

            prompt = [.. request.PromptTokenIds];
        }
        else
        {
            Require(request.Prompt.Length > 0, "prompt is empty: give a prompt text or prompt_token_ids");
            prompt = tokenizer.Encode(request.Prompt, request.HasAddBos ? request.AddBos : tokenizer.AddBosByDefault);
            Require(prompt.Length > 0, "prompt encodes to no tokens; set add_bos or give a non-empty prompt");
        }

        var context = model.Config.ContextLength;
        Require(request.MaxTokens > 0, $"max_tokens must be > 0 (got {request.MaxTokens})");
        Require(prompt.Length < context, $"the prompt is {prompt.Length} tokens but the context of model '{model.Id}' is {context}: shorten the prompt");
        Require(
            (long)prompt.Length + request.MaxTokens <= context,
            $"prompt ({prompt.Length} tokens) plus max_tokens ({request.MaxTokens}) exceeds the context of {context}: lower max_tokens to at most {context - prompt.Length}");

        Require(request.Stop.Count <= MaxStopSequences, $"at most {MaxStopSequences} stop sequences are allowed (got {request.Stop.Count})");
        for (var i = 0; i < request.Stop.Count; i++)
        {
            Require(request.Stop[i].Length > 0, $"stop[{i}] is empty: remove it");
            Require(!request.Stop[i].Contains('\uFFFD', StringComparison.Ordinal) && IsWellFormed(request.Stop[i]), $"stop[{i}] is not valid UTF-8 text");
        }

        Require(request.TopLogprobs is >= 0 and <= MaxTopLogprobs, $"top_logprobs must be between 0 and {MaxTopLogprobs} (got {request.TopLogprobs})");
        var constrained = request.ResponseFormat is { FormatCase: not ResponseFormat.FormatOneofCase.None };
        Require(!constrained || request.Stop.Count == 0, "response_format cannot be combined with stop: the format decides where the output ends");
        Require(!constrained || !request.IgnoreEos, "response_format cannot be combined with ignore_eos: the format decides where the output ends");
        var constraint = ResponseFormatValidator.Validate(request.ResponseFormat, model);
        return new GenerationRequest(
            prompt,
            request.MaxTokens,
            Sampling(request.Sampling),
            [.. request.Stop],
            request.IgnoreEos,
            request.TopLogprobs,
            request.Priority,
            request.RequestId.Length > 0 ? request.RequestId : Guid.NewGuid().ToString("N"),
            LogitsProcessor: constraint?.CreateProcessor(prompt));
    }

    /// <summary>
    /// The sampling parameters of <paramref name="s"/> with the proto's defaults (temperature 1, top_p 1,
    /// repetition penalty 1, penalty window 64, a random seed when none is set). A value out of range is a
    /// <see cref="ServiceException"/> INVALID_ARGUMENT naming <c>sampling.*</c> and the range.
    /// </summary>
    public static SamplingParameters Sampling(SamplingParams? s)
    {
        if (s is null)
        {
            return new SamplingParameters { Seed = RandomSeed() };
        }

        var temperature = s.HasTemperature ? s.Temperature : 1f;
        Require(float.IsFinite(temperature) && temperature >= 0, $"sampling.temperature must be >= 0 (got {temperature}); use 0 for greedy decoding");
        var topP = s.HasTopP ? s.TopP : 1f;
        Require(topP is > 0 and <= 1, $"sampling.top_p must be in (0, 1] (got {topP})");
        Require(s.TopK >= 0, $"sampling.top_k must be >= 0 (got {s.TopK}); 0 turns it off");
        Require(s.MinP is >= 0 and < 1, $"sampling.min_p must be in [0, 1) (got {s.MinP})");
        Require(float.IsFinite(s.RepetitionPenalty) && s.RepetitionPenalty >= 0, $"sampling.repetition_penalty must be > 0 (got {s.RepetitionPenalty}); 1 or 0 turns it off");
        Require(s.PresencePenalty is >= -2 and <= 2, $"sampling.presence_penalty must be in [-2, 2] (got {s.PresencePenalty})");
        Require(s.FrequencyPenalty is >= -2 and <= 2, $"sampling.frequency_penalty must be in [-2, 2] (got {s.FrequencyPenalty})");
        Require(s.PenaltyLastN >= -1, $"sampling.penalty_last_n must be >= -1 (got {s.PenaltyLastN})");
        return new SamplingParameters
        {
            Temperature = temperature,
            TopP = topP,
            TopK = s.TopK,
            MinP = s.MinP,
            RepetitionPenalty = s.RepetitionPenalty == 0 ? 1f : s.RepetitionPenalty,
            PresencePenalty = s.PresencePenalty,
            FrequencyPenalty = s.FrequencyPenalty,
            PenaltyLastN = s.PenaltyLastN == 0 ? 64 : s.PenaltyLastN,
            Seed = s.HasSeed ? s.Seed : RandomSeed(),
        };
    }

    /// <summary>
    /// Throws <see cref="ServiceException"/> INVALID_ARGUMENT with <paramref name="message"/> unless <paramref name="condition"/> holds.
    /// </summary>
    public static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw ServiceException.InvalidArgument(message);
        }
    }

    private static bool IsWellFormed(string s)
    {
        for (var i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(s[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static ulong RandomSeed() => BitConverter.ToUInt64(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
}

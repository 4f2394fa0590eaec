using System.Text.Json;
using Mesh.Inference.V1;

namespace Mesh.Gateway.OpenAI;

/// <summary>
/// Checks the parameters the chat and completion endpoints share and turns them into Mesh's
/// <see cref="SamplingParams"/>, stop list and token limit. Ranges are OpenAI's; a value out of range is
/// an <see cref="OpenAIRequestException"/> naming the field.
/// </summary>
public static class SamplingMapper
{
    /// <summary>At most this many choices per request (<c>n</c>).</summary>
    public const int MaxChoices = 16;

    /// <summary>Parameters of OpenAI's API that Mesh does not serve; a request setting one is refused by name.</summary>
    private static readonly HashSet<string> Unsupported = new(StringComparer.Ordinal)
    {
        "tools", "tool_choice", "functions", "function_call", "logit_bias", "audio",
        "modalities", "prediction", "best_of", "echo", "suffix", "web_search_options", "reasoning_effort",
    };

    /// <summary>The model id; 400 naming <c>model</c> when missing.</summary>
    public static string RequireModel(string? model) =>
        string.IsNullOrEmpty(model) ? throw new OpenAIRequestException("model", "'model' is required: one of the ids GET /v1/models lists.") : model;

    /// <summary>Refuses, by name, any parameter Mesh does not serve that the request sets.</summary>
    public static void RefuseUnsupported(Dictionary<string, JsonElement>? extra)
    {
        foreach (var (name, value) in extra ?? [])
        {
            if (Unsupported.Contains(name) && value.ValueKind is not JsonValueKind.Null)
            {
                throw new OpenAIRequestException(name, $"'{name}' is not supported by this server; remove it.");
            }
        }
    }

    /// <summary>The number of choices (<c>n</c>, default 1, at most <see cref="MaxChoices"/>).</summary>
    public static int Choices(int? n) => n switch
    {
        null => 1,
        >= 1 and <= MaxChoices => n.Value,
        _ => throw new OpenAIRequestException("n", $"'n' must be between 1 and {MaxChoices}, not {n}."),
    };

    /// <summary>The token limit <paramref name="param"/> asks for, or <paramref name="defaultValue"/>; 400 when not positive.</summary>
    public static int MaxTokens(int? value, string param, int defaultValue) => value switch
    {
        null => defaultValue,
        > 0 => value.Value,
        _ => throw new OpenAIRequestException(param, $"'{param}' must be at least 1, not {value}."),
    };

    /// <summary>The sampling of choice <paramref name="choice"/>: choice i draws with seed + i, so that n choices differ yet repeat.</summary>
    public static SamplingParams Sampling(float? temperature, float? topP, long? seed, float? presence, float? frequency, int choice)
    {
        var sampling = new SamplingParams();
        if (temperature is { } t)
        {
            sampling.Temperature = t is >= 0 and <= 2 ? t : throw new OpenAIRequestException("temperature", $"'temperature' must be between 0 and 2, not {t}.");
        }

        if (topP is { } p)
        {
            sampling.TopP = p is > 0 and <= 1 ? p : throw new OpenAIRequestException("top_p", $"'top_p' must be in (0, 1], not {p}.");
        }

        sampling.PresencePenalty = Penalty(presence, "presence_penalty");
        sampling.FrequencyPenalty = Penalty(frequency, "frequency_penalty");
        if (seed is { } s)
        {
            sampling.Seed = unchecked((ulong)s + (ulong)choice);
        }

        return sampling;
    }

    /// <summary><c>stop</c>: null, a string, or an array of up to 8 non-empty strings.</summary>
    public static IReadOnlyList<string> Stop(JsonElement stop)
    {
        switch (stop.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return [];
            case JsonValueKind.String:
                return [NonEmpty(stop.GetString()!)];
            case JsonValueKind.Array when stop.GetArrayLength() <= 8:
                return stop.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String
                    ? NonEmpty(e.GetString()!)
                    : throw new OpenAIRequestException("stop", "'stop' must hold strings.")).ToList();
            default:
                throw new OpenAIRequestException("stop", "'stop' must be a string or an array of at most 8 strings.");
        }

        static string NonEmpty(string s) => s.Length > 0 ? s : throw new OpenAIRequestException("stop", "'stop' sequences must not be empty.");
    }

    /// <summary>OpenAI finish reasons: the end of the turn, a stop sequence and EOS are all "stop".</summary>
    public static string? FinishReason(Mesh.Inference.V1.FinishReason reason) => reason switch
    {
        Mesh.Inference.V1.FinishReason.Length => "length",
        Mesh.Inference.V1.FinishReason.Unspecified => null,
        _ => "stop",
    };

    private static float Penalty(float? value, string param) => value switch
    {
        null => 0,
        >= -2 and <= 2 => value.Value,
        _ => throw new OpenAIRequestException(param, $"'{param}' must be between -2 and 2, not {value}."),
    };
}

using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Mesh.Guard.Policies;
using Mesh.Guard.V1;

namespace Mesh.Guard.Quality.Judge;

/// <summary>
/// The judge's prompt and output schema. The prompt is a plain completion prompt (rubric, numbered
/// sources, question, answer, instruction, then <c>Grade:</c>), which base and instruction-tuned
/// models both continue; the schema, enforced by Inference's structured output, makes the output
/// <c>{"score": 1..5, "reason": "…"}</c> whatever the model's skill (the LLM-as-a-judge pattern of
/// Zheng et al., "Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena", 2023, single-answer grading).
/// </summary>
public static class JudgePrompt
{
    /// <summary>The prompt for grading <paramref name="request"/>'s answer against <paramref name="rule"/>'s rubric.</summary>
    public static string Build(EvaluateRequest request, JudgeRule rule)
    {
        var b = new StringBuilder();
        b.Append("Grade the answer to the question from 1 (worst) to 5 (best) by this rubric: ").Append(rule.Rubric.Trim()).Append("\n\n");
        if (request.Sources.Count > 0)
        {
            b.Append("Sources:\n");
            for (var i = 0; i < request.Sources.Count; i++)
            {
                b.Append('[').Append((i + 1).ToString(CultureInfo.InvariantCulture)).Append("] ").Append(request.Sources[i].Text.Trim()).Append('\n');
            }

            b.Append('\n');
        }

        b.Append("Question: ").Append(request.Question.Trim()).Append('\n');
        b.Append("Answer: ").Append(request.Answer.Trim()).Append("\n\n");
        b.Append("Reply with JSON: the score and a one-sentence reason.\nGrade: ");
        return b.ToString();
    }

    /// <summary>
    /// The output schema: an object with an integer <c>score</c> in 1..5 and a <c>reason</c> of 1 to
    /// <paramref name="maxReasonChars"/> characters, both required, nothing else.
    /// </summary>
    public static string Schema(int maxReasonChars) => new JsonObject
    {
        ["type"] = "object",
        ["properties"] = new JsonObject
        {
            ["score"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["maximum"] = 5 },
            ["reason"] = new JsonObject { ["type"] = "string", ["minLength"] = 1, ["maxLength"] = maxReasonChars },
        },
        ["required"] = new JsonArray("score", "reason"),
        ["additionalProperties"] = false,
    }.ToJsonString();
}

using System.Text;
using Mesh.Inference.StructuredOutput;

namespace Mesh.Inference.Tests.StructuredOutput;

/// <summary>Runs a compiled grammar over text, byte by byte, as the token masks do.</summary>
internal static class FormatMatching
{
    public static bool Matches(Grammar grammar, string text) => Matches(new GrammarMatcher(grammar), text);

    public static bool Matches(GrammarMatcher matcher, string text)
    {
        var state = matcher.Initial;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            state = matcher.Step(state, b);
            if (state.IsDead)
            {
                return false;
            }
        }

        return state.Accepting;
    }

    public static Grammar Schema(string schema) => JsonSchemaCompiler.Compile(schema, new JsonSchemaOptions());

    public static Grammar Regex(string pattern) => new ResponseFormat(ResponseFormatKind.Regex, pattern, [], new JsonSchemaOptions()).Compile();
}

using Mesh.Inference.StructuredOutput;
using static Mesh.Inference.Tests.StructuredOutput.FormatMatching;

namespace Mesh.Inference.Tests.StructuredOutput;

/// <summary>What the regex, GBNF and JSON Schema compilers accept, produce and refuse.</summary>
public sealed class GrammarCompilerTests
{
    [Theory]
    [InlineData("[a-c]{2,3}", "ab", true)]
    [InlineData("[a-c]{2,3}", "abca", false)]
    [InlineData("[a-c]{2,3}", "a", false)]
    [InlineData("\\d+(\\.\\d+)?", "12.50", true)]
    [InlineData("\\d+(\\.\\d+)?", "12.", false)]
    [InlineData("(?:cat|dog)s?", "dogs", true)]
    [InlineData("(?:cat|dog)s?", "cow", false)]
    [InlineData("^[^x]*$", "héllo wörld", true)]
    [InlineData("^[^x]*$", "box", false)]
    [InlineData("a.c", "a€c", true)]
    [InlineData("a.c", "a\nc", false)]
    [InlineData("日本(語)?", "日本語", true)]
    [InlineData("\\w{3}-\\d{2}", "ab_-42", true)]
    [InlineData("[\\]\\-]+", "]-]", true)]
    public void Regex_matches_in_full(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, Matches(Regex(pattern), text));
        Assert.Equal(expected, System.Text.RegularExpressions.Regex.IsMatch(text, $"^(?:{pattern})$"));
    }

    [Theory]
    [InlineData("(?=a)b", "lookaround")]
    [InlineData("(a)\\1", "backreferences")]
    [InlineData("a*?", "lazy")]
    [InlineData("\\bword", "\\b")]
    [InlineData("[é]", "ASCII")]
    [InlineData("a{5,2}", "bounds")]
    [InlineData("a{2000}", "bounds")]
    [InlineData("(ab", "missing ')'")]
    [InlineData("a)b", "unbalanced")]
    [InlineData("a^b", "anchor")]
    public void Unsupported_regex_is_refused_with_the_construct_named(string pattern, string named)
    {
        var e = Assert.Throws<GrammarException>(() => Regex(pattern));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void Integer_ranges_accept_exactly_the_integers_in_range()
    {
        foreach (var (min, max) in new (long?, long?)[] { (-123, 4567), (0, 0), (7, 93), (-50, -3), (100, null), (null, -20), (1, 1000) })
        {
            var schema = "{\"type\":\"integer\"" + (min is null ? "" : $",\"minimum\":{min}") + (max is null ? "" : $",\"maximum\":{max}") + "}";
            var matcher = new GrammarMatcher(Schema(schema));
            for (var n = -300L; n <= 5000; n++)
            {
                var inRange = (min is null || n >= min) && (max is null || n <= max);
                Assert.True(inRange == Matches(matcher, n.ToString()), $"{schema}: {n}");
            }

            Assert.False(Matches(matcher, "007"));
            Assert.False(Matches(matcher, "-0"));
        }
    }

    [Fact]
    public void Objects_keep_required_properties_and_allow_leaving_optional_ones_out()
    {
        var matcher = new GrammarMatcher(Schema("""{"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string","maxLength":3},"c":{"type":"boolean"}},"required":["b"],"additionalProperties":false}"""));
        Assert.True(Matches(matcher, """{"b":"xy"}"""));
        Assert.True(Matches(matcher, """{"a":1,"b":"xyz","c":true}"""));
        Assert.True(Matches(matcher, """{ "a": -5, "b": "" }"""));
        Assert.False(Matches(matcher, """{"a":1}"""));
        Assert.False(Matches(matcher, """{"b":"toolong"}"""));
        Assert.False(Matches(matcher, """{"b":"x","d":1}"""));
        Assert.False(Matches(matcher, """{"b":"x"}  """), "whitespace after the value is not allowed: the value is complete at '}'");
        Assert.False(Matches(matcher, """{  "b":"x"}"""), "at most one whitespace character between tokens by default");
    }

    [Fact]
    public void Arrays_respect_prefix_items_and_item_counts()
    {
        var matcher = new GrammarMatcher(Schema("""{"type":"array","prefixItems":[{"type":"string","maxLength":2},{"type":"null"}],"items":{"type":"integer","minimum":0,"maximum":9},"minItems":1,"maxItems":4}"""));
        Assert.True(Matches(matcher, """["ab"]"""));
        Assert.True(Matches(matcher, """["ab",null,3,4]"""));
        Assert.False(Matches(matcher, "[]"));
        Assert.False(Matches(matcher, """["ab",null,3,4,5]"""));
        Assert.False(Matches(matcher, """["ab",3]"""));
    }

    [Fact]
    public void Recursive_references_are_followed_to_the_depth_bound()
    {
        const string schema = """{"$defs":{"node":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/$defs/node"},{"type":"null"}]}},"required":["v","next"],"additionalProperties":false}},"$ref":"#/$defs/node"}""";
        var shallow = new GrammarMatcher(JsonSchemaCompiler.Compile(schema, new JsonSchemaOptions { MaxRefDepth = 3 }));
        Assert.True(Matches(shallow, """{"v":1,"next":{"v":2,"next":null}}"""));
        Assert.False(Matches(shallow, """{"v":1,"next":{"v":2,"next":{"v":3,"next":{"v":4,"next":null}}}}"""));
    }

    [Fact]
    public void Formats_produce_values_a_format_validator_accepts()
    {
        Assert.True(Matches(Schema("""{"type":"string","format":"date-time"}"""), "\"2024-02-28T23:59:07.123+05:30\""));
        Assert.False(Matches(Schema("""{"type":"string","format":"date"}"""), "\"2024-02-30\""));
        Assert.True(Matches(Schema("""{"type":"string","format":"uuid"}"""), "\"123e4567-e89b-12d3-a456-426614174000\""));
        Assert.True(Matches(Schema("""{"type":"string","format":"email"}"""), "\"first.last@mail.example.com\""));
        Assert.False(Matches(Schema("""{"type":"string","format":"email"}"""), "\"a..b@x.com\""));
    }

    [Theory]
    [InlineData("""{"type":"string","contentEncoding":"base64"}""", "'contentEncoding'")]
    [InlineData("""{"type":"string","nullable":true}""", "'nullable'")]
    [InlineData("""{"type":"array","uniqueItems":true}""", "'uniqueItems'")]
    [InlineData("""{"type":"string","format":"hostname"}""", "hostname")]
    [InlineData("""{"oneOf":[{"type":"integer"},{"type":"number"}]}""", "oneOf")]
    [InlineData("""{"$ref":"http://example.com/s.json"}""", "local references")]
    [InlineData("""{"$ref":"#/$defs/missing"}""", "does not name")]
    [InlineData("""{"type":"integer","minimum":5,"maximum":2}""", "minimum 5 is above maximum 2")]
    [InlineData("""{"type":"strin"}""", "\"strin\"")]
    [InlineData("""{"type":"object""", "not valid JSON")]
    [InlineData("""{"$defs":{"a":{"type":"object","properties":{"x":{"$ref":"#/$defs/a"}},"required":["x"]}},"$ref":"#/$defs/a"}""", "never finish")]
    public void Unsupported_or_impossible_schemas_are_refused_naming_the_cause(string schema, string named)
    {
        var e = Assert.Throws<GrammarException>(() => Schema(schema));
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void OneOf_with_disjoint_branches_and_allOf_merges_compile()
    {
        var oneOf = new GrammarMatcher(Schema("""{"oneOf":[{"type":"object","properties":{"kind":{"const":"a"},"x":{"type":"integer"}},"required":["kind"]},{"type":"object","properties":{"kind":{"const":"b"}},"required":["kind"]},{"type":"string","maxLength":2}]}"""));
        Assert.True(Matches(oneOf, """{"kind":"a","x":3}"""));
        Assert.True(Matches(oneOf, "\"hi\""));
        var allOf = new GrammarMatcher(Schema("""{"allOf":[{"type":"object","properties":{"a":{"type":"integer","minimum":0}},"required":["a"]},{"properties":{"a":{"maximum":5},"b":{"type":"boolean"}}}]}"""));
        Assert.True(Matches(allOf, """{"a":5,"b":true}"""));
        Assert.False(Matches(allOf, """{"a":6}"""));
    }

    [Fact]
    public void Gbnf_grammars_parse_and_match_as_llama_cpp_defines_them()
    {
        const string gbnf = """
            # arithmetic, right-recursive
            root ::= expr
            expr ::= term (("+" | "-") term)*
            term ::= [0-9]+ | "(" expr ")"
            """;
        var matcher = new GrammarMatcher(GbnfParser.Parse(gbnf));
        Assert.True(Matches(matcher, "1+(22-3)"));
        Assert.False(Matches(matcher, "1+"));
        Assert.Contains("left-recursive", Assert.Throws<GrammarException>(() => GbnfParser.Parse("root ::= root \"a\" | \"b\"")).Message);
        Assert.Contains("'root'", Assert.Throws<GrammarException>(() => GbnfParser.Parse("start ::= \"a\"")).Message);
        Assert.Contains("line 2", Assert.Throws<GrammarException>(() => GbnfParser.Parse("root ::= x\nx ::= \"a")).Message);
    }

    [Fact]
    public void Deeply_nested_formats_are_refused_instead_of_exhausting_the_stack()
    {
        Assert.Contains("nest deeper", Assert.Throws<GrammarException>(() => Regex(new string('(', 5000) + "a" + new string(')', 5000))).Message);
        Assert.Contains("nest deeper", Assert.Throws<GrammarException>(() => GbnfParser.Parse("root ::= " + new string('(', 5000) + "\"a\"" + new string(')', 5000))).Message);
        var chain = string.Join("\n", Enumerable.Range(0, 3000).Select(i => $"r{i} ::= r{i + 1}")) + "\nr3000 ::= \"x\"\nroot ::= r0";
        Assert.Contains("chain", Assert.Throws<GrammarException>(() => GbnfParser.Parse(chain)).Message);
        var nested = string.Concat(Enumerable.Repeat("{\"anyOf\":[", 25)) + "{\"type\":\"integer\"}" + string.Concat(Enumerable.Repeat("]}", 25));
        Assert.True(Matches(Schema(nested), "42"));
        var refs = "{\"$defs\":{\"a\":{\"anyOf\":[{\"$ref\":\"#/$defs/a\"},{\"$ref\":\"#/$defs/a\"},{\"type\":\"null\"}]}},\"$ref\":\"#/$defs/a\"}";
        Assert.True(Matches(JsonSchemaCompiler.Compile(refs, new JsonSchemaOptions { MaxRefDepth = 16 }), "null"));
    }
}

using System.Text;
using Mesh.Inference.Sampling;
using Mesh.Inference.StructuredOutput;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.StructuredOutput;

/// <summary>
/// Vocabularies without a model: a byte-level BPE-like vocabulary (every byte a token, the Llama 2
/// pieces as raw bytes, merges that cross JSON token boundaries such as <c>":"</c> and <c>"},</c>, and
/// tokens that split multi-byte UTF-8 characters), and a 128k-token one for the masking cost. Logits
/// come from a seeded generator, so the constraint alone decides validity.
/// </summary>
internal static class SyntheticVocabularies
{
    public const int EosId = 0;

    private static readonly Lazy<TokenVocabulary> ByteLevelVocabulary = new(() => Build(extra: 0));
    private static readonly Lazy<TokenVocabulary> Large = new(() => Build(extra: 128_000));

    public static TokenVocabulary ByteLevel => ByteLevelVocabulary.Value;

    /// <summary>About 128k tokens: <see cref="ByteLevel"/> padded with random word-like pieces.</summary>
    public static TokenVocabulary Vocab128K => Large.Value;

    private static TokenVocabulary Build(int extra)
    {
        var tokens = new List<byte[]> { Array.Empty<byte>() };
        var seen = new HashSet<string>();
        void Add(byte[] b)
        {
            if (b.Length > 0 && seen.Add(Convert.ToHexString(b)))
            {
                tokens.Add(b);
            }
        }

        for (var b = 0; b < 256; b++)
        {
            Add([(byte)b]);
        }

        var llama = SentencePieceTokenizer.FromModelFile(TestModels.Llama2TokenizerModel);
        var pieces = TokenVocabulary.For(llama).Bytes;
        foreach (var p in pieces)
        {
            Add(p);
            // Split multi-byte characters: a token ending inside a character and one starting inside it.
            for (var i = 1; i < p.Length; i++)
            {
                if ((p[i] & 0xC0) == 0x80 && i % 2 == 1)
                {
                    Add(p[..i]);
                    Add(p[i..]);
                    break;
                }
            }
        }

        foreach (var merge in new[] { "\":", "\": ", "\",", "\", \"", "\"}", "\"},", "}]", "[{\"", "{\"", ", \"", "\":\"", "\":{", "\":[", "null", "true,", "false}", "\n ", "  ", "\\\"", "\\n", "\\u00", "-0", "12", "3.", ".5", "e+" })
        {
            Add(Encoding.UTF8.GetBytes(merge));
        }

        var random = new Random(128);
        while (tokens.Count < extra)
        {
            var length = random.Next(2, 11);
            var piece = new byte[length];
            for (var i = 0; i < length; i++)
            {
                piece[i] = (byte)(i == 0 && random.Next(3) == 0 ? ' ' : random.Next(3) == 0 ? random.Next(0x21, 0x7F) : random.Next('a', 'z' + 1));
            }

            Add(piece);
        }

        var bytes = tokens.ToArray();
        return new TokenVocabulary(bytes, bytes, EosId);
    }

    /// <summary>
    /// Generates under <paramref name="format"/> from seeded random logits at temperature 1: the text,
    /// and whether it finished (complete value, or EOS chosen while complete) within <paramref name="maxTokens"/>.
    /// </summary>
    public static (string Text, bool Finished) Generate(CompiledFormat format, int seed, int maxTokens)
    {
        var vocabulary = format.Vocabulary;
        var constraint = format.Create([]);
        var sampler = new Sampler(new SamplingParameters { Temperature = 1, Seed = (ulong)seed });
        var random = new Random(seed);
        var logits = new float[vocabulary.Count];
        var text = new List<byte>();
        for (var step = 0; step < maxTokens; step++)
        {
            for (var i = 0; i < logits.Length; i++)
            {
                logits[i] = random.NextSingle() * 6;
            }

            if (!constraint.Mask(logits))
            {
                throw new InvalidOperationException($"dead end after {Encoding.UTF8.GetString([.. text])}");
            }

            var token = sampler.Sample(logits, [], (ulong)step);
            if (!constraint.Accept(token))
            {
                throw new InvalidOperationException($"the mask allowed token {token}, which the constraint then refused");
            }

            if (token == vocabulary.EosId)
            {
                return (Encoding.UTF8.GetString([.. text]), true);
            }

            text.AddRange(vocabulary.Bytes[token]);
            if (constraint.IsComplete)
            {
                return (new UTF8Encoding(false, throwOnInvalidBytes: true).GetString([.. text]), true);
            }
        }

        return (Encoding.UTF8.GetString([.. text]), false);
    }
}

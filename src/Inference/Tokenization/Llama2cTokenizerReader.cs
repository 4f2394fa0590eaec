using System.Buffers.Binary;
using System.Text;
using Mesh.Inference.Models;

namespace Mesh.Inference.Tokenization;

/// <summary>
/// Reads the tokenizer file of karpathy/llama2.c (<c>tokenizer.bin</c>, <c>tok512.bin</c>): an int32
/// max_token_length, then for each token a float32 score, an int32 byte length and that many UTF-8 bytes.
/// The file stores spaces as plain ' ' and byte tokens as <c>&lt;0x0A&gt;</c>; token 0 is &lt;unk&gt;, 1 is BOS
/// and 2 is EOS, and the file carries no kinds, so they follow from those ids and the byte-token form.
/// </summary>
public static class Llama2cTokenizerReader
{
    /// <summary>Reads <paramref name="vocabSize"/> tokens (the checkpoint header's vocab_size) from <paramref name="path"/>.</summary>
    /// <exception cref="ModelFormatException">The file is truncated, malformed or holds a different number of tokens.</exception>
    public static SentencePieceVocabulary Read(string path, int vocabSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vocabSize, 3);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException(path, "file", $"cannot be read: {ex.Message}");
        }

        var reader = new Reader(path, data);
        int maxTokenLength = reader.Int32("max_token_length");
        if (maxTokenLength <= 0)
        {
            throw new ModelFormatException(path, "max_token_length", $"is {maxTokenLength}; it must be positive");
        }

        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
        var pieces = new string[vocabSize];
        var scores = new float[vocabSize];
        var kinds = new TokenKind[vocabSize];
        for (int id = 0; id < vocabSize; id++)
        {
            scores[id] = reader.Float32($"token[{id}].score");
            int length = reader.Int32($"token[{id}].length");
            if (length < 0 || length > maxTokenLength)
            {
                throw new ModelFormatException(path, $"token[{id}].length", $"is {length}; it must be between 0 and max_token_length ({maxTokenLength})");
            }

            ReadOnlySpan<byte> bytes = reader.Bytes(length, $"token[{id}].bytes");
            string text;
            try
            {
                text = utf8.GetString(bytes);
            }
            catch (DecoderFallbackException)
            {
                throw new ModelFormatException(path, $"token[{id}].bytes", "is not valid UTF-8");
            }

            pieces[id] = text.Replace(' ', SentencePieceVocabulary.SpaceSymbol);
            kinds[id] = id switch
            {
                0 => TokenKind.Unknown,
                1 or 2 => TokenKind.Control,
                _ when BytePiece.TryParse(text, out _) => TokenKind.Byte,
                _ => TokenKind.Normal,
            };
        }

        if (reader.Remaining != 0)
        {
            throw new ModelFormatException(path, "tokens", $"the file holds {reader.Remaining} bytes after token {vocabSize - 1}; it has more tokens than the model's vocab_size ({vocabSize})");
        }

        var vocabulary = new SentencePieceVocabulary(pieces, scores, kinds, BosId: 1, EosId: 2, UnkId: 0, AddBos: true);
        if (vocabulary.FindProblem() is { } problem)
        {
            throw new ModelFormatException(path, "tokens", problem);
        }

        return vocabulary;
    }

    /// <summary>Little-endian reads that name the field when the file ends before it.</summary>
    private ref struct Reader(string path, byte[] data)
    {
        private int _position;

        public readonly int Remaining => data.Length - _position;

        public int Int32(string field) => BinaryPrimitives.ReadInt32LittleEndian(Bytes(4, field));

        public float Float32(string field) => BinaryPrimitives.ReadSingleLittleEndian(Bytes(4, field));

        public ReadOnlySpan<byte> Bytes(int count, string field)
        {
            if (count > Remaining)
            {
                throw new ModelFormatException(path, field, $"the file ends at byte {data.Length}, {count - Remaining} bytes short of this field (truncated file?)");
            }

            var span = data.AsSpan(_position, count);
            _position += count;
            return span;
        }
    }
}

using Google.Protobuf;
using Mesh.Inference.Models;
using Mesh.Inference.Tokenization.Protos;
using PieceType = Mesh.Inference.Tokenization.Protos.ModelProto.Types.SentencePiece.Types.Type;

namespace Mesh.Inference.Tokenization;

/// <summary>
/// SentencePiece's own model file (<c>tokenizer.model</c>, a serialized <c>ModelProto</c>): reads the
/// vocabulary out of one, and writes one from a vocabulary for Microsoft.ML.Tokenizers, whose
/// <c>LlamaTokenizer.Create</c> takes nothing else. The message types come from the
/// <c>sentencepiece_model.proto</c> subset beside this file, compiled by Grpc.Tools.
/// </summary>
public static class SentencePieceModelFile
{
    /// <summary>Reads the vocabulary of a SentencePiece BPE model file such as Llama 2's <c>tokenizer.model</c>.</summary>
    /// <exception cref="ModelFormatException">The file is not a ModelProto, or describes a tokenizer Mesh does not support.</exception>
    public static SentencePieceVocabulary Read(string path)
    {
        ModelProto model;
        try
        {
            using var stream = File.OpenRead(path);
            model = ModelProto.Parser.ParseFrom(stream);
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or IOException or UnauthorizedAccessException)
        {
            throw new ModelFormatException(path, "ModelProto", $"is not a readable SentencePiece model: {ex.Message}");
        }

        var trainer = model.TrainerSpec ?? new TrainerSpec();
        var normalizer = model.NormalizerSpec ?? new NormalizerSpec();
        if (trainer.ModelType != TrainerSpec.Types.ModelType.Bpe)
        {
            throw new ModelFormatException(path, "trainer_spec.model_type", $"is {trainer.ModelType}; Mesh supports SentencePiece BPE models (the Llama family)");
        }

        // The Llama settings; anything else would need normalization this tokenizer does not do.
        Require(normalizer.PrecompiledCharsmap.IsEmpty, "normalizer_spec.precompiled_charsmap", "is not empty; only the identity normalizer is supported");
        Require(normalizer.AddDummyPrefix, "normalizer_spec.add_dummy_prefix", "is false; the dummy space prefix is required");
        Require(!normalizer.RemoveExtraWhitespaces, "normalizer_spec.remove_extra_whitespaces", "is true; whitespace must be kept as it is");
        Require(normalizer.EscapeWhitespaces, "normalizer_spec.escape_whitespaces", "is false; spaces must be escaped as U+2581");
        Require(!trainer.TreatWhitespaceAsSuffix, "trainer_spec.treat_whitespace_as_suffix", "is true; whitespace must prefix pieces");

        int count = model.Pieces.Count;
        var pieces = new string[count];
        var scores = new float[count];
        var kinds = new TokenKind[count];
        for (int id = 0; id < count; id++)
        {
            var piece = model.Pieces[id];
            pieces[id] = piece.Piece;
            scores[id] = piece.Score;
            kinds[id] = (TokenKind)piece.Type;
        }

        var vocabulary = new SentencePieceVocabulary(pieces, scores, kinds, trainer.BosId, trainer.EosId, trainer.UnkId, AddBos: true);
        if (vocabulary.FindProblem() is { } problem)
        {
            throw new ModelFormatException(path, "pieces", problem);
        }

        return vocabulary;

        void Require(bool condition, string field, string message)
        {
            if (!condition)
            {
                throw new ModelFormatException(path, field, message);
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="vocabulary"/> as a SentencePiece model with Llama's settings: BPE with byte
    /// fallback, identity normalizer with the dummy space prefix, whitespace kept and escaped as U+2581.
    /// </summary>
    public static byte[] ToModelProto(SentencePieceVocabulary vocabulary) => Build(vocabulary, mirrored: false).ToByteArray();

    /// <summary>
    /// The ModelProto Microsoft.ML.Tokenizers encodes with. With <paramref name="mirrored"/> every text
    /// piece is written reversed (by code point) and normalization is switched off, for
    /// <see cref="MirroredBpeEncoder"/>; byte pieces keep their <c>&lt;0xHH&gt;</c> names because the library
    /// finds byte fallback's first id by looking up <c>&lt;0x00&gt;</c>.
    /// </summary>
    internal static ModelProto Build(SentencePieceVocabulary vocabulary, bool mirrored)
    {
        var model = new ModelProto
        {
            TrainerSpec = new TrainerSpec
            {
                ModelType = TrainerSpec.Types.ModelType.Bpe,
                VocabSize = vocabulary.Count,
                ByteFallback = vocabulary.Kinds.Contains(TokenKind.Byte),
                TreatWhitespaceAsSuffix = false,
                UnkId = vocabulary.UnkId,
                BosId = vocabulary.BosId,
                EosId = vocabulary.EosId,
                PadId = -1,
                UnkPiece = vocabulary.Pieces[vocabulary.UnkId],
                BosPiece = vocabulary.Pieces[vocabulary.BosId],
                EosPiece = vocabulary.Pieces[vocabulary.EosId],
            },
            NormalizerSpec = new NormalizerSpec
            {
                Name = "identity",
                PrecompiledCharsmap = ByteString.Empty,
                AddDummyPrefix = !mirrored,
                RemoveExtraWhitespaces = false,
                EscapeWhitespaces = !mirrored,
            },
        };

        // A piece text maps to one id. Should a vocabulary list a piece twice, the text keeps llama.cpp's
        // meaning (the last id with it) and the earlier entries get a name no text can form: U+FFFF is a
        // noncharacter, and no piece built from it exists to merge with.
        var lastIdOfPiece = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        for (int id = 0; id < vocabulary.Count; id++)
        {
            lastIdOfPiece[vocabulary.Pieces[id]] = id;
        }

        for (int id = 0; id < vocabulary.Count; id++)
        {
            string piece = vocabulary.Pieces[id];
            TokenKind kind = vocabulary.Kinds[id];
            if (lastIdOfPiece[piece] != id)
            {
                piece = $"\uFFFF{id}\uFFFF";
            }
            else if (mirrored && kind != TokenKind.Byte)
            {
                piece = TextMirror.Reverse(piece);
            }

            model.Pieces.Add(new ModelProto.Types.SentencePiece { Piece = piece, Score = vocabulary.Scores[id], Type = (PieceType)kind });
        }

        return model;
    }
}

using Grpc.Net.Client;
using Mesh.Inference.Models;
using Mesh.Inference.Models.Gguf;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Inference.Tokenization;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults;
using Microsoft.AspNetCore.Builder;

namespace Mesh.Inference.Tests.Chat;

/// <summary>
/// The real Inference host on a loopback port with three models: "chat" (stories260K written with a
/// ChatML <c>tokenizer.chat_template</c> and an <c>eot_token_id</c> of <see cref="EndOfTurnId"/>, the token
/// it greedily produces after "Once upon a time"), "plain" (stories260K.gguf, no template) and
/// "override" (stories260K.gguf served with <c>ChatTemplate=llama3</c>, as <c>--chat-template</c> sets),
/// and "bpe": the real cl100k vocabulary as a Llama 3 style byte-level BPE GGUF (<c>llama-bpe</c>, Llama 3
/// chat template) with tiny random weights.
/// </summary>
public sealed class ChatServiceFixture : IAsyncLifetime
{
    /// <summary>stories260K's greedy continuation of "Once upon a time" starts with this token.</summary>
    public const int EndOfTurnId = 432;

    public const string ChatMlTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private readonly string _directory = Directory.CreateTempSubdirectory("mesh-chat-").FullName;
    private WebApplication? _app;

    public GrpcChannel Channel { get; private set; } = null!;

    public InferenceService.InferenceServiceClient Client { get; private set; } = null!;

    /// <summary>stories260K's tokenizer, for computing what the server should have been given.</summary>
    public SentencePieceTokenizer Tokenizer { get; } = TokenizerModelsFixture.FromGguf(TestModels.Stories260KGguf);

    /// <summary>The "bpe" model's file, for llama.cpp to read too.</summary>
    public string BpePath { get; private set; } = "";

    /// <summary>The Llama 3 template the "bpe" model carries.</summary>
    public const string Llama3Template = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}";

    public async Task InitializeAsync()
    {
        var cl100k = TiktokenVocabulary.Cl100k();
        BpePath = Path.Combine(_directory, "cl100k-llama-bpe.gguf");
        var header = BpeGgufFile.Header(cl100k, "llama-bpe").Add(TokenizerMetadata.ChatTemplateKey, Llama3Template);
        var config = new LlamaConfig(Dim: 8, HiddenDim: 16, Layers: 1, Heads: 2, KvHeads: 2, VocabSize: cl100k.Tokens.Length, ContextLength: 256, NormEpsilon: 1e-5f, RopeTheta: 10000f);
        SyntheticLlamaGguf.AddRandomWeights(header, config, GgmlType.F32, seed: 7);
        header.Write(BpePath);

        string chatPath = Path.Combine(_directory, "stories260K-chat.gguf");
        using (var model = LlamaModel.Load(TestModels.Stories260KGguf))
        {
            // BOS and EOS as control tokens, as Llama vocabularies mark them, so that "</s>" in a message is special-token text.
            var kinds = Tokenizer.Vocabulary.Kinds.ToArray();
            kinds[Tokenizer.BosId] = kinds[Tokenizer.EosId] = TokenKind.Control;
            LlamaGgufExporter.Write(chatPath, model.Config, model.Weights, Tokenizer.Vocabulary with { Kinds = kinds }, GgmlType.F32, "stories260K-chat", w => w
                .Add("tokenizer.ggml.eot_token_id", (uint)EndOfTurnId)
                .Add(TokenizerMetadata.ChatTemplateKey, ChatMlTemplate));
        }

        _app = InferenceHost.CreateApp(
        [
            "--Mesh:Endpoints:Grpc=http://127.0.0.1:0",
            "--Mesh:Endpoints:Http=http://127.0.0.1:0",
            "--Inference:Device=cpu",
            "--Inference:Models:0:Id=chat",
            $"--Inference:Models:0:Path={chatPath}",
            "--Inference:Models:1:Id=plain",
            $"--Inference:Models:1:Path={TestModels.Stories260KGguf}",
            "--Inference:Models:2:Id=override",
            $"--Inference:Models:2:Path={TestModels.Stories260KGguf}",
            "--Inference:Models:2:ChatTemplate=llama3",
            "--Inference:Models:3:Id=bpe",
            $"--Inference:Models:3:Path={BpePath}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        await _app.StartAsync();
        Channel = GrpcChannel.ForAddress(_app.GetGrpcAddress());
        Client = new InferenceService.InferenceServiceClient(Channel);
    }

    public async Task DisposeAsync()
    {
        Channel.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }
}

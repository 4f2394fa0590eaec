using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Mesh.Inference.Backends;
using Mesh.Inference.Engine;
using Mesh.Inference.Hosting;
using Mesh.Inference.Sampling;
using Microsoft.Extensions.Logging;

namespace Mesh.Inference.Cli;

/// <summary>
/// The host's command line, in the manner of llama.cpp's tools: <c>generate</c> prints only the
/// generated text on stdout, <c>score</c> prints one JSON object, <c>serve</c> (the default) runs the
/// gRPC service, <c>tune</c> trains a LoRA adapter (<see cref="TuneCommand"/>), <c>pull</c>/<c>list</c>/<c>rm</c> manage the model cache (<see cref="ModelCacheCommands"/>). Progress and logs go to stderr.
/// </summary>
public static class InferenceCommandLine
{
    private static readonly Option<string> Model = new("--model") { Description = "GGUF file, Hugging Face model directory (config.json, *.safetensors, tokenizer.json) or llama2.c checkpoint; or a reference fetched through the cache: hf:<org>/<repo>[:<file or quant>][@<revision>], https://…#sha256=<hex>" };
    private static readonly Option<string?> Tokenizer = new("--tokenizer") { Description = "tokenizer file of a llama2.c checkpoint (default: tok{vocab}.bin beside it)" };
    private static readonly Option<string> Device = new("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };
    private static readonly Option<string?> Lora = new("--lora") { Description = "a LoRA adapter to apply: a GGUF adapter file or a PEFT directory (with --server: the name of an adapter loaded there)" };
    private static readonly Option<int> Threads = new("--threads") { Description = "CPU threads (0: all cores)" };
    private static readonly Option<string?> ChatTemplate = new("--chat-template")
    {
        Description = $"chat template for the Chat RPC instead of the model's own: a name ({string.Join(", ", Chat.ChatTemplate.Names)}) or a Jinja template text of one of them",
    };

    /// <summary>
    /// The root command with its <c>serve</c> (default), <c>generate</c> and <c>score</c> subcommands and their options.
    /// </summary>
    public static RootCommand Build()
    {
        var prompt = new Option<string>("--prompt") { Description = "prompt text", DefaultValueFactory = _ => "" };
        var maxTokens = new Option<int>("--max-tokens") { Description = "tokens to generate", DefaultValueFactory = _ => 256 };
        var temperature = new Option<float>("--temperature") { Description = "0 for greedy decoding", DefaultValueFactory = _ => 1f };
        var topP = new Option<float>("--top-p") { Description = "nucleus sampling threshold", DefaultValueFactory = _ => 1f };
        var topK = new Option<int>("--top-k") { Description = "keep the k most likely tokens (0: off)" };
        var minP = new Option<float>("--min-p") { Description = "min-p filter (0: off)" };
        var seed = new Option<ulong?>("--seed") { Description = "random seed (default: random)" };
        var text = new Option<string>("--text") { Description = "text to score", Required = true };
        var server = new Option<string?>("--server") { Description = "call a running Inference service or the Mesh gateway at this address instead of loading the model here (--model is then the model id)" };
        var apiKey = new Option<string?>("--api-key") { Description = $"with --server: the gateway's API key, sent as 'authorization: Bearer' (default: ${RemoteGenerate.ApiKeyVariable})" };

        var generate = new Command("generate", "generate text and print it to stdout")
        {
            Model, Tokenizer, Device, Threads, prompt, maxTokens, temperature, topP, topK, minP, seed, server, apiKey, ModelCacheCommands.Offline, Lora,
        };
        generate.SetAction(async (result, cancellation) =>
        {
            if (result.GetValue(server) is { } address)
            {
                var remote = new V1.GenerateRequest
                {
                    Model = result.GetValue(Model) ?? "",
                    Prompt = result.GetValue(prompt) ?? "",
                    MaxTokens = result.GetValue(maxTokens),
                    Sampling = new V1.SamplingParams { Temperature = result.GetValue(temperature), TopP = result.GetValue(topP), TopK = result.GetValue(topK), MinP = result.GetValue(minP) },
                    Adapter = result.GetValue(Lora) ?? "",
                };
                if (result.GetValue(seed) is { } s)
                {
                    remote.Sampling.Seed = s;
                }

                var key = result.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(RemoteGenerate.ApiKeyVariable);
                return await RemoteGenerate.RunAsync(new Uri(address), remote, string.IsNullOrEmpty(key) ? null : key, cancellation);
            }

            using var loggers = StderrLoggers();
            using var served = await CreateEngineAsync(result, loggers, cancellation);
            var engine = served.Engine;
            var tokenizer = engine.Model.Tokenizer;
            var sampling = new SamplingParameters
            {
                Temperature = result.GetValue(temperature),
                TopP = result.GetValue(topP),
                TopK = result.GetValue(topK),
                MinP = result.GetValue(minP),
                Seed = result.GetValue(seed) ?? (ulong)Random.Shared.NextInt64(),
            };
            var promptTokens = tokenizer.Encode(result.GetValue(prompt) ?? "", addBos: true);
            var max = Math.Min(result.GetValue(maxTokens), engine.Model.Config.ContextLength - promptTokens.Length);
            if (max <= 0)
            {
                await Console.Error.WriteLineAsync("error: --max-tokens must be > 0 and the prompt must leave room in the context");
                return 2;
            }

            System.Threading.Channels.ChannelReader<GenerationChunk> output;
            try
            {
                output = engine.Submit(new GenerationRequest(promptTokens, max, sampling, []) { Adapter = LoadAdapter(result, served) }, cancellation);
            }
            catch (KvCapacityExceededException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return 2;
            }

            await using var stdout = Console.OpenStandardOutput();
            await using var writer = new StreamWriter(stdout) { AutoFlush = true };
            await foreach (var chunk in output.ReadAllAsync(cancellation))
            {
                await writer.WriteAsync(chunk.Text);
                if (chunk.Usage is { } u)
                {
                    await writer.WriteLineAsync();
                    loggers.CreateLogger("generate").LogInformation(
                        "{Prompt} prompt tokens, {Completion} generated in {Total:F0} ms ({Rate:F1} tokens/s), finish: {Finish}",
                        u.PromptTokens, u.CompletionTokens, u.TotalTimeMs, u.CompletionTokens / Math.Max(1e-9, (u.TotalTimeMs - u.TimeToFirstTokenMs) / 1000), chunk.Finish);
                }
            }

            return 0;
        });

        var score = new Command("score", "print the summed negative log-likelihood of a text as JSON") { Model, Tokenizer, Device, Threads, text, ModelCacheCommands.Offline, Lora };
        score.SetAction(async (result, cancellation) =>
        {
            using var loggers = StderrLoggers();
            using var served = await CreateEngineAsync(result, loggers, cancellation);
            var engine = served.Engine;
            var ids = engine.Model.Tokenizer.Encode(result.GetValue(text)!, addBos: true);
            if (ids.Length < 2 || ids.Length > engine.Model.Config.ContextLength)
            {
                await Console.Error.WriteLineAsync($"error: the text must encode to between 2 and {engine.Model.Config.ContextLength} tokens (got {ids.Length})");
                return 2;
            }

            var logprobs = await engine.ScoreAsync(ids, LoadAdapter(result, served), cancellation);
            var nll = -logprobs.Sum(l => (double)l);
            Console.WriteLine(JsonSerializer.Serialize(new { tokens = ids.Length, scored_tokens = logprobs.Length, nll, perplexity = Math.Exp(nll / logprobs.Length) }));
            return 0;
        });

        var serve = new Command("serve", "run the gRPC service (extra --Section:Key=value arguments configure the host)")
        {
            Model, Tokenizer, Device, Threads, ChatTemplate, ModelCacheCommands.Offline,
        };
        serve.TreatUnmatchedTokensAsErrors = false;
        serve.SetAction((result, cancellation) => Serve(result, cancellation));

        var root = new RootCommand("Mesh Inference: the gRPC service (default) and command-line tools")
        {
            generate, score, serve, TuneCommand.Build(Model, Tokenizer, ChatTemplate, Threads),
        };
        foreach (var command in ModelCacheCommands.Build())
        {
            root.Subcommands.Add(command);
        }

        root.TreatUnmatchedTokensAsErrors = false;
        root.SetAction((result, cancellation) => Serve(result, cancellation));
        return root;
    }

    private static async Task<int> Serve(ParseResult result, CancellationToken cancellation)
    {
        var args = new List<string>(result.UnmatchedTokens);
        if (result.GetValue(Model) is { } model)
        {
            args.Add($"--Inference:Models:0:Path={model}");
        }

        if (result.GetValue(Tokenizer) is { } tokenizer)
        {
            args.Add($"--Inference:Models:0:Tokenizer={tokenizer}");
        }

        if (result.GetValue(ChatTemplate) is { } chatTemplate)
        {
            args.Add($"--Inference:Models:0:ChatTemplate={chatTemplate}");
        }

        if (result.GetValue(ModelCacheCommands.Offline))
        {
            args.Add("--Inference:Offline=true");
        }

        if (result.GetResult(Device) is { Implicit: false })
        {
            args.Add($"--Inference:Device={result.GetValue(Device)}");
        }

        if (result.GetValue(Threads) is > 0 and var threads)
        {
            args.Add($"--Inference:Threads={threads.ToString(CultureInfo.InvariantCulture)}");
        }

        await using var app = InferenceHost.CreateApp([.. args]);
        await app.RunAsync(cancellation);
        return 0;
    }

    private static ILoggerFactory StderrLoggers() => LoggerFactory.Create(b =>
        b.AddSimpleConsole(o => o.SingleLine = true).AddFilter(l => l >= LogLevel.Information)
            .Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

    /// <summary>The adapter of <c>--lora</c> read against the model (null without one); a bad file throws <see cref="Models.ModelFormatException"/>.</summary>
    private static Models.Lora.LoraAdapter? LoadAdapter(ParseResult result, ServedModel served) =>
        result.GetValue(Lora) is { } path ? served.Adapters.Load("cli", path) : null;

    /// <summary>The model of <c>--model</c> on the chosen device, behind its own scheduler.</summary>
    private static async Task<ServedModel> CreateEngineAsync(ParseResult result, ILoggerFactory loggers, CancellationToken cancellation)
    {
        var path = result.GetValue(Model) ?? throw new ArgumentException("--model is required");
        var logger = loggers.CreateLogger("inference");
        var (resolved, id) = await ModelCache.ModelSource.ResolveAsync(path, ModelCacheCommands.OptionsOf(result), logger, cancellation);
        var model = new ModelOptions { Path = resolved, Id = id, Tokenizer = result.GetValue(Tokenizer) };
        return ServedModel.Load(model, result.GetValue(Device) ?? "auto", new BackendOptions { Threads = result.GetValue(Threads) }, new EngineOptions(), logger);
    }
}

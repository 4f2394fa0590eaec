using Grpc.Core;
using Mesh.Inference.Chat;
using Mesh.Inference.Models;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults.Errors;
using static Mesh.Inference.Services.GenerateRequestValidator;

namespace Mesh.Inference.Services;

/// <summary>
/// Turns a <see cref="ChatRequest"/> into the <see cref="GenerateRequest"/> it stands for: the messages
/// rendered with the model's chat template and encoded (template special tokens parsed, BOS as the
/// model says), every other field carried over, so that Chat is validated and served exactly as
/// Generate. Bad messages are INVALID_ARGUMENT naming the message; a model without a usable template is
/// FAILED_PRECONDITION naming <c>--chat-template</c>.
/// </summary>
public static class ChatRequestValidator
{
    /// <summary>Most messages one request may carry.</summary>
    public const int MaxMessages = 1024;

    /// <summary>
    /// The Generate request for <paramref name="request"/>: its messages rendered with the template
    /// <paramref name="template"/> returns and encoded into <c>prompt_token_ids</c>. Throws
    /// <see cref="ServiceException"/> INVALID_ARGUMENT for no or too many messages, an unknown role or a
    /// content holding a special token's text; FAILED_PRECONDITION when the model has no template Mesh renders.
    /// </summary>
    public static GenerateRequest ToGenerateRequest(ChatRequest request, LlamaModel model, Func<ChatTemplate> template)
    {
        Require(request.Messages.Count > 0, "messages is empty: give at least one message (role system, user or assistant)");
        Require(request.Messages.Count <= MaxMessages, $"at most {MaxMessages} messages are allowed (got {request.Messages.Count})");
        var tokenizer = model.Tokenizer;
        var messages = new List<Chat.ChatMessage>(request.Messages.Count);
        for (int i = 0; i < request.Messages.Count; i++)
        {
            var m = request.Messages[i];
            Require(Chat.ChatMessage.Roles.Contains(m.Role), $"messages[{i}].role is '{m.Role}'; it must be one of {string.Join(", ", Chat.ChatMessage.Roles)}");

            // With special tokens parsed, a message containing "<|im_end|>" would close its own turn.
            Require(
                tokenizer.Encode(m.Content, addBos: false, parseSpecial: true).AsSpan().SequenceEqual(tokenizer.Encode(m.Content, addBos: false)),
                $"messages[{i}].content contains the text of a special token of model '{model.Id}' (such as a turn marker); remove it");
            messages.Add(new Chat.ChatMessage(m.Role, m.Content));
        }

        ChatTemplate chat;
        try
        {
            chat = template();
        }
        catch (ChatTemplateException e)
        {
            throw new ServiceException(StatusCode.FailedPrecondition, $"model '{model.Id}': {e.Message}");
        }

        string prompt = chat.Render(messages, request.HasAddGenerationPrompt ? request.AddGenerationPrompt : true);
        var generate = new GenerateRequest
        {
            Model = request.Model,
            MaxTokens = request.MaxTokens,
            Sampling = request.Sampling,
            IgnoreEos = request.IgnoreEos,
            TopLogprobs = request.TopLogprobs,
            Priority = request.Priority,
            RequestId = request.RequestId,
            Adapter = request.Adapter,
        };
        generate.Stop.AddRange(request.Stop);
        int[] ids = tokenizer.Encode(prompt, tokenizer.AddBosByDefault, parseSpecial: true);
        Require(ids.Length > 0, "the messages render to an empty prompt: give a message with content");
        generate.PromptTokenIds.AddRange(ids);
        return generate;
    }
}

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
    /// The Generate request for <paramref name="request"/>: its messages encoded by <see cref="Encode"/>
    /// into <c>prompt_token_ids</c>, every other field (<c>response_format</c> included) carried over.
    /// Throws <see cref="ServiceException"/> as <see cref="Encode"/> does.
    /// </summary>
    public static GenerateRequest ToGenerateRequest(ChatRequest request, LlamaModel model, Func<ChatTemplate> template)
    {
        int[] ids = Encode(request.Messages, request.HasAddGenerationPrompt ? request.AddGenerationPrompt : true, model, template);
        var generate = new GenerateRequest
        {
            Model = request.Model,
            MaxTokens = request.MaxTokens,
            Sampling = request.Sampling,
            IgnoreEos = request.IgnoreEos,
            TopLogprobs = request.TopLogprobs,
            Priority = request.Priority,
            RequestId = request.RequestId,
            ResponseFormat = request.ResponseFormat,
            Adapter = request.Adapter,
        };
        generate.Stop.AddRange(request.Stop);
        generate.PromptTokenIds.AddRange(ids);
        return generate;
    }

    /// <summary>
    /// The token ids the model is given for a conversation: the messages checked, rendered with the
    /// model's chat template and encoded with the template's special tokens parsed and BOS as the model
    /// says. Chat generates from exactly these ids; Tokenize with <c>messages</c> returns them. Throws
    /// <see cref="ServiceException"/> INVALID_ARGUMENT for no or too many messages, an unknown role or a
    /// content holding a special token's text; FAILED_PRECONDITION when the model has no template Mesh renders.
    /// </summary>
    public static int[] Encode(IReadOnlyList<V1.ChatMessage> conversation, bool addGenerationPrompt, LlamaModel model, Func<ChatTemplate> template)
    {
        Require(conversation.Count > 0, "messages is empty: give at least one message (role system, user or assistant)");
        Require(conversation.Count <= MaxMessages, $"at most {MaxMessages} messages are allowed (got {conversation.Count})");
        var tokenizer = model.Tokenizer;
        var messages = new List<Chat.ChatMessage>(conversation.Count);
        for (int i = 0; i < conversation.Count; i++)
        {
            var m = conversation[i];
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

        string prompt = chat.Render(messages, addGenerationPrompt);
        int[] ids = tokenizer.Encode(prompt, tokenizer.AddBosByDefault, parseSpecial: true);
        Require(ids.Length > 0, "the messages render to an empty prompt: give a message with content");
        return ids;
    }
}

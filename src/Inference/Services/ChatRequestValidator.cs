using Grpc.Core;
using Mesh.Inference.Chat;
using Mesh.Inference.Models;
using Mesh.Inference.V1;
using Mesh.ServiceDefaults.Errors;
using static Mesh.Inference.Services.GenerateRequestValidator;

namespace Mesh.Inference.Services;

/// <summary>
/// Turns a <see cref="ChatRequest"/> into the <see cref="GenerateRequest"/> it stands for: the messages
/// rendered with the model's chat template and encoded (the template's special tokens parsed, the
/// contents' special-token text as plain text, BOS as the model says), every other field carried over, so that Chat is validated and served exactly as
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
    /// model's chat template and encoded with the template's special tokens parsed, the contents as plain
    /// text (a content's <c>&lt;|im_end|&gt;</c> is those characters, not the token) and BOS as the model
    /// says. Chat generates from exactly these ids; Tokenize with <c>messages</c> returns them. Throws
    /// <see cref="ServiceException"/> INVALID_ARGUMENT for no or too many messages or an unknown role;
    /// FAILED_PRECONDITION when the model has no template Mesh renders.
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

        // Contents are untrusted (users, retrieved documents): their special-token text stays text, so
        // "<|im_end|>" in a message is those characters, never the end of its turn.
        var prompt = chat.RenderPrompt(messages, addGenerationPrompt);
        int[] ids = tokenizer.EncodeRendered(prompt.Text, tokenizer.AddBosByDefault, prompt.ContentSpans);
        Require(ids.Length > 0, "the messages render to an empty prompt: give a message with content");
        return ids;
    }
}

namespace Mesh.Inference.Chat;

/// <summary>
/// Renders a conversation in one template family exactly as llama.cpp's <c>llm_chat_apply_template</c>
/// does (llama-chat.cpp; its expected outputs are in llama.cpp's tests/test-chat-template.cpp, which
/// Mesh's tests reuse). BOS is not written: the tokenizer adds it when the model's metadata says so, as
/// llama.cpp's server does. Message contents go through <see cref="ChatPromptBuilder.Content"/>, so
/// their places are known and they are encoded as plain text.
/// </summary>
internal static class ChatTemplateRenderer
{
    public static ChatPrompt Render(string family, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        var sb = new ChatPromptBuilder();
        switch (family)
        {
            case "chatml":
                foreach (var m in messages)
                {
                    sb.Append("<|im_start|>").Append(m.Role).Append('\n').Content(m.Content).Append("<|im_end|>\n");
                }

                if (addGenerationPrompt)
                {
                    sb.Append("<|im_start|>assistant\n");
                }

                break;
            case "mistral-v7" or "mistral-v7-tekken":
                string space = family == "mistral-v7" ? " " : "";
                foreach (var m in messages)
                {
                    _ = m.Role switch
                    {
                        "system" => sb.Append("[SYSTEM_PROMPT]").Append(space).Content(m.Content).Append("[/SYSTEM_PROMPT]"),
                        "user" => sb.Append("[INST]").Append(space).Content(m.Content).Append("[/INST]"),
                        _ => sb.Append(space).Content(m.Content).Append("</s>"),
                    };
                }

                break;
            case "mistral-v1" or "mistral-v3" or "mistral-v3-tekken":
                RenderMistral(sb, family, messages);
                break;
            case "llama2" or "llama2-sys" or "llama2-sys-bos" or "llama2-sys-strip":
                RenderLlama2(sb, family, messages);
                break;
            case "phi3":
                foreach (var m in messages)
                {
                    sb.Append("<|").Append(m.Role).Append("|>\n").Content(m.Content).Append("<|end|>\n");
                }

                if (addGenerationPrompt)
                {
                    sb.Append("<|assistant|>\n");
                }

                break;
            case "zephyr":
                foreach (var m in messages)
                {
                    sb.Append("<|").Append(m.Role).Append("|>\n").Content(m.Content).Append("<|endoftext|>\n");
                }

                if (addGenerationPrompt)
                {
                    sb.Append("<|assistant|>\n");
                }

                break;
            case "gemma":
                RenderGemma(sb, messages, addGenerationPrompt);
                break;
            case "deepseek":
                foreach (var m in messages)
                {
                    _ = m.Role switch
                    {
                        "system" => sb.Content(m.Content),
                        "user" => sb.Append("### Instruction:\n").Content(m.Content).Append('\n'),
                        _ => sb.Append("### Response:\n").Content(m.Content).Append("\n<|EOT|>\n"),
                    };
                }

                if (addGenerationPrompt)
                {
                    sb.Append("### Response:\n");
                }

                break;
            case "deepseek2":
                foreach (var m in messages)
                {
                    _ = m.Role switch
                    {
                        "system" => sb.Content(m.Content).Append("\n\n"),
                        "user" => sb.Append("User: ").Content(m.Content).Append("\n\n"),
                        _ => sb.Append("Assistant: ").Content(m.Content).Append("<｜end▁of▁sentence｜>"),
                    };
                }

                if (addGenerationPrompt)
                {
                    sb.Append("Assistant:");
                }

                break;
            case "deepseek3":
                foreach (var m in messages)
                {
                    _ = m.Role switch
                    {
                        "system" => sb.Content(m.Content).Append("\n\n"),
                        "user" => sb.Append("<｜User｜>").Content(m.Content),
                        _ => sb.Append("<｜Assistant｜>").Content(m.Content).Append("<｜end▁of▁sentence｜>"),
                    };
                }

                if (addGenerationPrompt)
                {
                    sb.Append("<｜Assistant｜>");
                }

                break;
            case "llama3":
                foreach (var m in messages)
                {
                    sb.Append("<|start_header_id|>").Append(m.Role).Append("<|end_header_id|>\n\n").Content(Trim(m.Content)).Append("<|eot_id|>");
                }

                if (addGenerationPrompt)
                {
                    sb.Append("<|start_header_id|>assistant<|end_header_id|>\n\n");
                }

                break;
            default:
                throw new ArgumentException($"no renderer for chat template family '{family}'", nameof(family));
        }

        return sb.Build();
    }

    // Mistral's v1/v3/v3-tekken: a system message opens the first [INST] block; v1 puts a space before
    // [INST] and [/INST], v3-tekken none after [INST], v3 trims assistant replies.
    private static void RenderMistral(ChatPromptBuilder sb, string family, IReadOnlyList<ChatMessage> messages)
    {
        string leading = family == "mistral-v1" ? " " : "";
        string trailing = family == "mistral-v3-tekken" ? "" : " ";
        bool inTurn = false;
        foreach (var m in messages)
        {
            if (!inTurn)
            {
                sb.Append(leading).Append("[INST]").Append(trailing);
                inTurn = true;
            }

            if (m.Role == "system")
            {
                sb.Content(m.Content).Append("\n\n");
            }
            else if (m.Role == "user")
            {
                sb.Content(m.Content).Append(leading).Append("[/INST]");
            }
            else
            {
                sb.Append(trailing).Content(family == "mistral-v3" ? Trim(m.Content) : m.Content).Append("</s>");
                inTurn = false;
            }
        }
    }

    // Llama 2: "[INST] " opens each turn (BOS before all but the first in the sys-bos variant); a system
    // message is wrapped in <<SYS>> where the template supports it, else written as a line of the turn.
    private static void RenderLlama2(ChatPromptBuilder sb, string family, IReadOnlyList<ChatMessage> messages)
    {
        bool supportsSystem = family != "llama2";
        bool bosInHistory = family == "llama2-sys-bos";
        bool strip = family == "llama2-sys-strip";
        bool inTurn = true;
        sb.Append("[INST] ");
        foreach (var m in messages)
        {
            string content = strip ? Trim(m.Content) : m.Content;
            if (!inTurn)
            {
                inTurn = true;
                sb.Append(bosInHistory ? "<s>[INST] " : "[INST] ");
            }

            if (m.Role == "system")
            {
                _ = supportsSystem ? sb.Append("<<SYS>>\n").Content(content).Append("\n<</SYS>>\n\n") : sb.Content(content).Append('\n');
            }
            else if (m.Role == "user")
            {
                sb.Content(content).Append(" [/INST]");
            }
            else
            {
                sb.Content(content).Append("</s>");
                inTurn = false;
            }
        }
    }

    // Gemma has no system role: system text is prepended to the next user turn; "assistant" is "model".
    private static void RenderGemma(ChatPromptBuilder sb, IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt)
    {
        string system = "";
        foreach (var m in messages)
        {
            if (m.Role == "system")
            {
                system += Trim(m.Content);
                continue;
            }

            string role = m.Role == "assistant" ? "model" : m.Role;
            sb.Append("<start_of_turn>").Append(role).Append('\n');
            if (system.Length > 0 && role != "model")
            {
                sb.Content(system).Append("\n\n");
                system = "";
            }

            sb.Content(Trim(m.Content)).Append("<end_of_turn>\n");
        }

        if (addGenerationPrompt)
        {
            sb.Append("<start_of_turn>model\n");
        }
    }

    // llama.cpp trims with C's isspace: ASCII space, \t, \n, \v, \f, \r only.
    private static string Trim(string text) => text.Trim(' ', '\t', '\n', '\v', '\f', '\r');
}

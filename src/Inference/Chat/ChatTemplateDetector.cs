namespace Mesh.Inference.Chat;

/// <summary>
/// Recognises a model's Jinja chat template by text it contains, in the order llama.cpp's
/// <c>llm_chat_detect_template</c> checks (llama-chat.cpp), so that a template is read as the same family
/// llama.cpp reads it as. Families llama.cpp knows but Mesh does not render come back as their name with
/// <c>Supported = false</c>, so they are refused rather than mistaken for another family.
/// </summary>
internal static class ChatTemplateDetector
{
    /// <summary>The family of <paramref name="template"/>, or null when nothing matches.</summary>
    public static (string Name, bool Supported)? Detect(string template)
    {
        bool Has(string text) => template.Contains(text, StringComparison.Ordinal);

        if (Has("<|im_start|>"))
        {
            return Has("<|im_sep|>") ? ("phi4", false) : Has("<end_of_utterance>") ? ("smolvlm", false) : ("chatml", true);
        }

        if (template.StartsWith("mistral", StringComparison.Ordinal) || Has("[INST]"))
        {
            if (Has("[SYSTEM_PROMPT]"))
            {
                return ("mistral-v7", true);
            }

            if (Has("' [INST] ' + system_message") || Has("[AVAILABLE_TOOLS]"))
            {
                return Has(" [INST]") ? ("mistral-v1", true) : Has("\"[INST]\"") ? ("mistral-v3-tekken", true) : ("mistral-v3", true);
            }

            return Has("content.strip()") ? ("llama2-sys-strip", true)
                : Has("bos_token + '[INST]") ? ("llama2-sys-bos", true)
                : Has("<<SYS>>") ? ("llama2-sys", true)
                : ("llama2", true);
        }

        if (Has("<|assistant|>") && Has("<|end|>"))
        {
            return ("phi3", true);
        }

        if (Has("[gMASK]<sop>"))
        {
            return ("chatglm4", false);
        }

        if (Has("<|assistant|>") && Has("<|user|>"))
        {
            return (Has("</s>") ? "falcon3" : "glmedge", false);
        }

        if (Has("<|{{ item['role'] }}|>") && Has("<|begin_of_image|>"))
        {
            return ("glmedge", false);
        }

        if (Has("<|user|>") && Has("<|endoftext|>"))
        {
            return ("zephyr", true);
        }

        if (Has("bos_token + message['role']"))
        {
            return ("monarch", false);
        }

        if (Has("<start_of_turn>"))
        {
            return ("gemma", true);
        }

        if (Has("'\\n\\nAssistant: ' + eos_token"))
        {
            return ("orion", false);
        }

        if (Has("GPT4 Correct "))
        {
            return ("openchat", false);
        }

        if (Has("USER: ") && Has("ASSISTANT: "))
        {
            return (Has("SYSTEM: ") ? "vicuna-orca" : "vicuna", false);
        }

        if (Has("### Instruction:") && Has("<|EOT|>"))
        {
            return ("deepseek", true);
        }

        if (Has("<|START_OF_TURN_TOKEN|>") && Has("<|USER_TOKEN|>"))
        {
            return ("command-r", false);
        }

        if (Has("<|start_header_id|>") && Has("<|end_header_id|>"))
        {
            return ("llama3", true);
        }

        if (Has("[gMASK]sop"))
        {
            return ("chatglm3", false);
        }

        if (Has("<用户>"))
        {
            return ("minicpm", false);
        }

        if (Has("'Assistant: ' + message['content'] + eos_token"))
        {
            return ("deepseek2", true);
        }

        if (Has("<｜Assistant｜>") && Has("<｜User｜>") && Has("<｜end▁of▁sentence｜>"))
        {
            return ("deepseek3", true);
        }

        return null;
    }
}

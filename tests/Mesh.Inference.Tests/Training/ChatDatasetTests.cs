using Mesh.Inference.Chat;
using Mesh.Inference.Models;
using Mesh.Inference.Tests.Tokenization;
using Mesh.Inference.Training;

namespace Mesh.Inference.Tests.Training;

/// <summary>
/// The training data: loss falls on exactly the assistant answers (and their end-of-turn marker) of a
/// conversation rendered with its chat template; bad files fail with the file, line and what to fix.
/// </summary>
public sealed class ChatDatasetTests : IDisposable
{
    private static readonly Lazy<LlamaModel> Model = new(() => LlamaModel.Load(TestModels.TinyStories656KGguf));
    private readonly string _folder = Directory.CreateTempSubdirectory("mesh-dataset-").FullName;
    private readonly ChatTemplate _chatml = ChatTemplate.Resolve("chatml", null);

    [Fact]
    public void OnlyTheAssistantTurnsCarryLoss()
    {
        var tokenizer = Model.Value.Tokenizer;
        List<ChatMessage> messages = [new("system", "You help shoppers."), new("user", "How much is the tent?"), new("assistant", "It costs $89.00."), new("user", "In stock?"), new("assistant", "Yes, 12 left.")];
        var example = ChatDataset.Tokenize(messages, tokenizer, _chatml, 512);

        Assert.Equal(tokenizer.Encode(_chatml.Render(messages, false), tokenizer.AddBosByDefault, parseSpecial: true), example.Tokens);
        // The target tokens, read as text in order, are the two answers with chatml's end of turn.
        var runs = new List<string>();
        var current = new List<int>();
        for (var t = 0; t < example.Targets.Length; t++)
        {
            if (example.Targets[t] >= 0)
            {
                Assert.Equal(example.Tokens[t + 1], example.Targets[t]);
                current.Add(example.Targets[t]);
            }
            else if (current.Count > 0)
            {
                runs.Add(tokenizer.Decode(current.ToArray()));
                current.Clear();
            }
        }

        if (current.Count > 0)
        {
            runs.Add(tokenizer.Decode(current.ToArray()));
        }

        Assert.Equal(["It costs $89.00.<|im_end|>\n", "Yes, 12 left.<|im_end|>\n"], runs.Select(r => r.TrimStart()));
        Assert.Equal(example.Targets.Count(t => t >= 0), example.LossTokens);
    }

    [Theory]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", "line 2: the example has no assistant answer")]
    [InlineData("not json", "line 2:")]
    [InlineData("{\"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}", "line 2: messages[0].role is 'robot'")]
    [InlineData("{\"messages\": [{\"role\": \"user\"}]}", "line 2: messages[0] must be an object with string \"role\" and \"content\"")]
    [InlineData("{\"prompt\": \"hi\"}", "line 2: expected an object with a \"messages\" array")]
    public void ABadLineIsRefusedWithItsNumber(string bad, string expected)
    {
        var path = Path.Combine(_folder, "data.jsonl");
        File.WriteAllLines(path, ["{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": \"hello\"}]}", bad]);
        var error = Assert.Throws<InvalidDataException>(() => ChatDataset.Read(path, Model.Value.Tokenizer, _chatml, 512));
        Assert.Contains(expected, error.Message);
        Assert.StartsWith(path, error.Message);
    }

    [Fact]
    public void AnExampleLongerThanTheContextIsRefused()
    {
        List<ChatMessage> messages = [new("user", string.Concat(Enumerable.Repeat("Once upon a time there was a shop. ", 40))), new("assistant", "ok")];
        var error = Assert.Throws<InvalidDataException>(() => ChatDataset.Tokenize(messages, Model.Value.Tokenizer, _chatml, 64));
        Assert.Contains("longer than the model's context of 64", error.Message);
    }

    [Fact]
    public void AMissingFileIsNamed()
    {
        var path = Path.Combine(_folder, "none.jsonl");
        Assert.Contains(path, Assert.Throws<FileNotFoundException>(() => ChatDataset.Read(path, Model.Value.Tokenizer, _chatml, 512)).Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}

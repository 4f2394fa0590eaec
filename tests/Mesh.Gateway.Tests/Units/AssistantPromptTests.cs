using Google.Protobuf.WellKnownTypes;
using Mesh.Assistant.V1;
using Mesh.Gateway.Assistant;
using Mesh.Retrieval.V1;

namespace Mesh.Gateway.Tests.Units;

public sealed class AssistantPromptTests
{
    private static readonly ScoredPoint[] Sources = [Source(10, "Returns within 30 days."), Source(20, "Shipping takes 3 days."), Source(30, "Tent $249.")];

    [Fact]
    public void Citations_are_the_ids_of_named_sources_in_first_mention_order_and_invented_numbers_name_nothing()
    {
        var cited = Citations.Extract("Ship in 3 days [2]; returns [1, 2] and [7], [0], [2].", Sources);

        Assert.Equal([20ul, 10ul], cited.Select(id => id.Num));
    }

    [Fact]
    public void The_prompt_numbers_the_sources_and_ends_with_the_guarded_question()
    {
        ChatMessage[] messages =
        [
            new() { Role = Role.System, Content = "You are the shop's assistant." },
            new() { Role = Role.User, Content = "Hi" },
            new() { Role = Role.Assistant, Content = "Hello!" },
            new() { Role = Role.User, Content = "my card 4111 1111 1111 1111" },
        ];

        var prompt = PromptAssembler.Build(messages, "my card <CREDIT_CARD>", Sources);

        Assert.StartsWith("You are the shop's assistant.\n" + PromptAssembler.Instruction, prompt, StringComparison.Ordinal);
        Assert.Contains("[1] Returns within 30 days.\n[2] Shipping takes 3 days.\n[3] Tent $249.\n", prompt, StringComparison.Ordinal);
        Assert.EndsWith("User: Hi\nAssistant: Hello!\nUser: my card <CREDIT_CARD>\nAssistant:", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("4111", prompt, StringComparison.Ordinal);
    }

    private static ScoredPoint Source(ulong id, string text)
    {
        var payload = new Struct();
        payload.Fields["text"] = Value.ForString(text);
        return new ScoredPoint { Id = new PointId { Num = id }, Score = 0.5f, Payload = payload };
    }
}

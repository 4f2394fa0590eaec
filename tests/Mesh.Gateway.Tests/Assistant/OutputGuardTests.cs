using Mesh.Gateway.Assistant;
using Mesh.Guard.V1;
using GuardAction = Mesh.Guard.V1.Action;

namespace Mesh.Gateway.Tests.Assistant;

/// <summary>
/// The output guard against the real Guard through the gateway, on both of its paths: an answer that
/// ends before its first chunk is due (one unary Check) and a streamed one (CheckStream, its last
/// chunk sent with its end). Either way the caller receives exactly Guard's redaction of the whole
/// answer, never the entity, and a blocked answer is reported as blocked.
/// </summary>
[Collection(AssistantCollection.Name)]
public sealed class OutputGuardTests(AssistantFixture mesh)
{
    private const string Email = "jane.doe@example.com";

    [Theory]
    [InlineData("Mail |" + Email)] // ends before a chunk is due
    [InlineData("Thanks for asking. |We will write to |" + Email + "| about your order within a day, promise.")] // streamed
    public async Task The_caller_receives_guards_redaction_of_the_whole_answer_and_never_the_entity(string generated)
    {
        // The pieces generation delivers, separated by '|'.
        var pieces = generated.Split('|');
        var (released, final) = await RunAsync(pieces);

        var whole = string.Concat(pieces);
        var expected = (await Guard.CheckAsync(new CheckRequest { Stage = Stage.Output, Text = whole }, mesh.Key.Metadata)).RedactedText;
        Assert.Equal(GuardAction.Redact, final.Verdict);
        Assert.True(final.Final);
        Assert.Equal(expected, released);
        Assert.DoesNotContain(Email, released, StringComparison.Ordinal);
        Assert.Contains(final.Violations, v => v.Action == GuardAction.Redact);
    }

    [Theory]
    [InlineData("AKIAIOSFODNN7EXAMPLE")]
    [InlineData("Here is the key you asked for: |AKIAIOSFODNN7EXAMPLE| and that is all I can say about it.")]
    public async Task An_answer_with_a_credential_is_blocked(string generated)
    {
        var (released, final) = await RunAsync(generated.Split('|'));

        Assert.Equal(GuardAction.Block, final.Verdict);
        Assert.DoesNotContain("AKIA", released, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_clean_short_answer_is_released_whole()
    {
        var (released, final) = await RunAsync(["Yes [1]."]);

        Assert.Equal(GuardAction.Allow, final.Verdict);
        Assert.Equal("Yes [1].", released);
    }

    private GuardService.GuardServiceClient Guard => new(mesh.Gateway.Channel);

    /// <summary>Feeds the pieces as generation would; returns everything released and the final (or blocking) verdict.</summary>
    private async Task<(string Released, CheckStreamResponse Final)> RunAsync(IEnumerable<string> pieces)
    {
        var guard = Guard;
        using var output = new OutputGuard(
            () => guard.CheckStream(mesh.Key.Metadata),
            check => guard.CheckAsync(check, mesh.Key.Metadata).ResponseAsync,
            new AssistantOptions());
        var released = new System.Text.StringBuilder();
        foreach (var piece in pieces)
        {
            var (release, blocked) = await output.AppendAsync(piece, "", "test", CancellationToken.None);
            if (blocked is not null)
            {
                return (released.ToString(), blocked);
            }

            released.Append(release);
        }

        var (rest, final) = await output.CompleteAsync("", "test", CancellationToken.None);
        released.Append(rest);
        return (released.ToString(), final);
    }
}

namespace Mesh.Inference.Training;

/// <summary>
/// One tokenized training sequence: <see cref="Tokens"/> as the model reads them (positions 0 to n−1),
/// and for each position the next token the loss asks it to predict there, or −1 where it is not an
/// answer token (prompt, template and user text carry no loss).
/// </summary>
/// <param name="Tokens">The token ids, BOS first when the model adds one.</param>
/// <param name="Targets">Same length: Targets[t] = Tokens[t + 1] when that token belongs to an assistant answer, else −1.</param>
public sealed record TrainingExample(int[] Tokens, int[] Targets)
{
    /// <summary>How many positions carry loss.</summary>
    public int LossTokens { get; } = Targets.Count(t => t >= 0);
}

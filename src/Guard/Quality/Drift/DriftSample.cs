namespace Mesh.Guard.Quality.Drift;

/// <summary>What the drift detector keeps of one exchange.</summary>
/// <param name="Question">Unit-length embedding of the question.</param>
/// <param name="Answer">Unit-length embedding of the answer; null when there is none (blocked, empty).</param>
/// <param name="QuestionWords">Question length in words.</param>
/// <param name="AnswerWords">Answer length in words; null when there is no answer.</param>
/// <param name="Blocked">A guard blocked the question or the answer.</param>
/// <param name="Redacted">A guard redacted the question or the answer.</param>
/// <param name="Groundedness">The answer's groundedness; null when it has none.</param>
public sealed record DriftSample(float[] Question, float[]? Answer, int QuestionWords, int? AnswerWords, bool Blocked, bool Redacted, float? Groundedness);

/// <summary>One comparison of the current window with the reference window.</summary>
/// <param name="Questions">MMD test of the question embeddings.</param>
/// <param name="Answers">MMD test of the answer embeddings; null when either window has fewer than two answers.</param>
/// <param name="QuestionLengthPsi">PSI of question lengths.</param>
/// <param name="AnswerLengthPsi">PSI of answer lengths.</param>
/// <param name="ReferenceBlockRate">Blocked share in the reference.</param>
/// <param name="BlockRate">Blocked share in the current window.</param>
/// <param name="ReferenceRedactRate">Redacted share in the reference.</param>
/// <param name="RedactRate">Redacted share in the current window.</param>
/// <param name="ReferenceGroundedness">Mean groundedness in the reference (NaN: none).</param>
/// <param name="Groundedness">Mean groundedness in the current window (NaN: none).</param>
/// <param name="OverThreshold">Signals over their thresholds in this comparison (names as in quality.proto's DriftSeries.alerts).</param>
/// <param name="EvaluatedAt">Exchanges recorded when the comparison was made.</param>
public sealed record DriftEvaluation(
    Mmd.Result Questions, Mmd.Result? Answers, double QuestionLengthPsi, double AnswerLengthPsi,
    double ReferenceBlockRate, double BlockRate, double ReferenceRedactRate, double RedactRate,
    double ReferenceGroundedness, double Groundedness, IReadOnlyList<string> OverThreshold, long EvaluatedAt)
{
    /// <summary>
    /// The signals that alert: over their thresholds in <see cref="DriftOptions.ConsecutiveComparisons"/>
    /// comparisons in a row (set by <see cref="DriftSeriesState"/>; equal to <see cref="OverThreshold"/> until then).
    /// </summary>
    public IReadOnlyList<string> Alerts { get; init; } = OverThreshold;
}

namespace Mesh.Guard.Quality.Drift;

/// <summary>Compares a current window with a reference window: MMD of embeddings, PSI of lengths, rates, groundedness.</summary>
public static class DriftEvaluator
{
    /// <summary>The comparison, with every signal over its threshold in <see cref="DriftEvaluation.OverThreshold"/>.</summary>
    public static DriftEvaluation Compare(IReadOnlyList<DriftSample> reference, IReadOnlyList<DriftSample> current, DriftOptions options, Random random, long at)
    {
        var alerts = new List<string>();
        var questions = Mmd.Test([.. reference.Select(s => s.Question)], [.. current.Select(s => s.Question)], options.Permutations, random);
        if (Drifted(questions, options))
        {
            alerts.Add("questions_mmd");
        }

        float[][] referenceAnswers = [.. reference.Where(s => s.Answer is not null).Select(s => s.Answer!)];
        float[][] currentAnswers = [.. current.Where(s => s.Answer is not null).Select(s => s.Answer!)];
        Mmd.Result? answers = null;
        if (referenceAnswers.Length >= 2 && currentAnswers.Length >= 2)
        {
            answers = Mmd.Test(referenceAnswers, currentAnswers, options.Permutations, random);
            if (Drifted(answers.Value, options))
            {
                alerts.Add("answers_mmd");
            }
        }

        var questionPsi = Psi.Compute([.. reference.Select(s => s.QuestionWords)], [.. current.Select(s => s.QuestionWords)]);
        var answerPsi = Psi.Compute(
            [.. reference.Where(s => s.AnswerWords is not null).Select(s => s.AnswerWords!.Value)],
            [.. current.Where(s => s.AnswerWords is not null).Select(s => s.AnswerWords!.Value)]);
        if (questionPsi > options.PsiThreshold)
        {
            alerts.Add("question_length_psi");
        }

        if (answerPsi > options.PsiThreshold)
        {
            alerts.Add("answer_length_psi");
        }

        var (referenceBlocks, blocks) = (reference.Average(s => s.Blocked ? 1.0 : 0), current.Average(s => s.Blocked ? 1.0 : 0));
        var (referenceRedacts, redacts) = (reference.Average(s => s.Redacted ? 1.0 : 0), current.Average(s => s.Redacted ? 1.0 : 0));
        if (Math.Abs(blocks - referenceBlocks) > options.RateChangeThreshold)
        {
            alerts.Add("block_rate");
        }

        if (Math.Abs(redacts - referenceRedacts) > options.RateChangeThreshold)
        {
            alerts.Add("redact_rate");
        }

        var referenceGrounded = MeanGroundedness(reference);
        var grounded = MeanGroundedness(current);
        if (referenceGrounded - grounded > options.GroundednessDropThreshold)
        {
            alerts.Add("groundedness"); // NaN on either side compares false: no alert without scores.
        }

        return new DriftEvaluation(questions, answers, questionPsi, answerPsi, referenceBlocks, blocks, referenceRedacts, redacts,
            referenceGrounded, grounded, alerts, at);
    }

    private static bool Drifted(Mmd.Result result, DriftOptions options) =>
        result.PValue <= options.PValueThreshold && result.Mmd2 >= options.MinMmd2;

    private static double MeanGroundedness(IReadOnlyList<DriftSample> samples)
    {
        var scored = samples.Where(s => s.Groundedness is not null).Select(s => (double)s.Groundedness!.Value).ToList();
        return scored.Count == 0 ? double.NaN : scored.Average();
    }
}

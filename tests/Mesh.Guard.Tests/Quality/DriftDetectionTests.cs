using Mesh.Guard.Quality;
using Mesh.Guard.Quality.Drift;
using Xunit.Abstractions;

namespace Mesh.Guard.Tests.Quality;

/// <summary>
/// The drift detector with Guard's default settings on question streams of real MiniLM embeddings
/// (issue 18): it fires within 200 questions of a shift to another domain or to injection-heavy
/// traffic, and alerts in at most 1% of the comparisons of an unshifted stream of 5,000 (resampled
/// with replacement from the embedded domain questions, so the stream costs no further embedding).
/// </summary>
public sealed class DriftDetectionTests(ITestOutputHelper output)
{
    private static readonly DriftOptions Defaults = new QualityOptions().Drift;

    [Fact]
    public void A_shift_to_another_domain_is_detected_within_200_questions()
    {
        var fired = FirstAlertAfterShift(DriftStreams.Other, shiftedShare: 1.0, seed: 1);
        Assert.InRange(fired, 1, 200);
    }

    [Fact]
    public void A_shift_to_injection_heavy_traffic_is_detected_within_200_questions()
    {
        // Half the traffic becomes injection attempts; the detector must see it in the question embeddings alone.
        var fired = FirstAlertAfterShift(DriftStreams.Injections, shiftedShare: 0.5, seed: 2, signal: "questions_mmd");
        Assert.InRange(fired, 1, 200);
    }

    [Fact]
    public void An_unshifted_stream_of_5000_alerts_in_at_most_one_percent_of_windows()
    {
        var random = new Random(3);
        var series = new DriftSeriesState("m", "t", Defaults);
        int windows = 0, alarms = 0;
        for (var i = 0; i < 5000; i++)
        {
            if (series.Record(Pick(DriftStreams.Domain, random)) is { } evaluation)
            {
                windows++;
                alarms += evaluation.Alerts.Count > 0 ? 1 : 0;
                if (evaluation.OverThreshold.Count > 0)
                {
                    output.WriteLine($"at {i}: over {string.Join(",", evaluation.OverThreshold)}, alerting {string.Join(",", evaluation.Alerts)}; MMD² {evaluation.Questions.Mmd2:F4} p {evaluation.Questions.PValue:F3} PSI {evaluation.QuestionLengthPsi:F3}");
                }
            }
        }

        output.WriteLine($"{alarms} alarms in {windows} windows");
        Assert.True(windows >= 90, $"{windows} comparisons");
        Assert.True(alarms <= windows / 100.0, $"{alarms} alarms in {windows} windows");
    }

    [Fact]
    public void Mmd_of_identical_distributions_is_near_zero_and_of_separated_ones_significant()
    {
        var random = new Random(4);
        float[][] a = [.. Enumerable.Range(0, 60).Select(_ => Gaussian(random, 0))];
        float[][] b = [.. Enumerable.Range(0, 60).Select(_ => Gaussian(random, 0))];
        float[][] c = [.. Enumerable.Range(0, 60).Select(_ => Gaussian(random, 1.5f))];
        var same = Mmd.Test(a, b, 200, new Random(5));
        var shifted = Mmd.Test(a, c, 200, new Random(5));
        Assert.True(same.PValue > 0.05, $"p {same.PValue} for identical distributions");
        Assert.True(shifted.PValue < 0.01 && shifted.Mmd2 > 10 * Math.Abs(same.Mmd2), $"shifted {shifted}, same {same}");
        Assert.Throws<ArgumentException>(() => Mmd.Test([a[0]], b, 10, new Random(5)));
    }

    [Fact]
    public void Psi_is_zero_for_equal_lengths_and_large_for_a_length_shift()
    {
        int[] shortQuestions = [.. Enumerable.Range(0, 200).Select(i => 6 + i % 8)];
        int[] longQuestions = [.. Enumerable.Range(0, 100).Select(i => 45 + i % 30)];
        Assert.InRange(Psi.Compute(shortQuestions, shortQuestions[..100]), 0, 0.01);
        Assert.True(Psi.Compute(shortQuestions, longQuestions) > 1);
    }

    /// <summary>Questions after the shift until the first comparison that alerts; -1 when none within 600, and fails on an alert before the shift.</summary>
    private int FirstAlertAfterShift(DriftSample[] shifted, double shiftedShare, int seed, string? signal = null)
    {
        var random = new Random(seed);
        var series = new DriftSeriesState("m", "t", Defaults);
        const int before = 400; // the 200-question reference, then 200 unshifted questions
        for (var i = 0; i < before; i++)
        {
            var evaluation = series.Record(Pick(DriftStreams.Domain, random));
            Assert.True(evaluation is null || evaluation.Alerts.Count == 0, $"alert before the shift at {i}: {string.Join(",", evaluation?.Alerts ?? [])}");
        }

        for (var i = 1; i <= 600; i++)
        {
            var sample = random.NextDouble() < shiftedShare ? Pick(shifted, random) : Pick(DriftStreams.Domain, random);
            if (series.Record(sample) is { } evaluation && (signal is null ? evaluation.Alerts.Count > 0 : evaluation.Alerts.Contains(signal)))
            {
                output.WriteLine($"fired {i} questions after the shift: {string.Join(",", evaluation.Alerts)}; questions MMD² {evaluation.Questions.Mmd2:F4} p {evaluation.Questions.PValue:F3}");
                return i;
            }
        }

        return -1;
    }

    private static DriftSample Pick(DriftSample[] pool, Random random) => pool[random.Next(pool.Length)];

    private static float[] Gaussian(Random random, float mean) =>
        [.. Enumerable.Range(0, 8).Select(_ => mean + (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))];
}

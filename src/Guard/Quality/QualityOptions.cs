namespace Mesh.Guard.Quality;

/// <summary>Settings of answer scoring and drift detection (section <c>Guard:Quality</c>).</summary>
public sealed class QualityOptions
{
    /// <summary>The configuration section the options bind from.</summary>
    public const string SectionName = "Guard:Quality";

    /// <summary>
    /// An answer sentence is supported when its MiniLM cosine similarity to a source sentence (or a
    /// whole source) is at least this. The default was calibrated on the first half of
    /// <c>demo/retail/eval/groundedness.jsonl</c> (the threshold that maximises F1 of "unsupported");
    /// <c>GroundednessCalibrationTests</c> recomputes it and reports the held-out half.
    /// </summary>
    public float GroundednessThreshold { get; set; } = 0.71f;

    /// <summary>Answer sentences with fewer words than this ("Yes.", "Sure!") are not scored.</summary>
    public int MinSentenceWords { get; set; } = 3;

    /// <summary>Most sources one ScoreAnswer may carry (INVALID_ARGUMENT beyond).</summary>
    public int MaxSources { get; set; } = 64;

    /// <summary>Embeddings of source sentences kept for reuse (a knowledge base repeats its chunks); 0 disables.</summary>
    public int EmbeddingCacheEntries { get; set; } = 8192;

    /// <summary>Drift detection.</summary>
    public DriftOptions Drift { get; set; } = new();
}

/// <summary>Settings of the drift detector (section <c>Guard:Quality:Drift</c>).</summary>
public sealed class DriftOptions
{
    /// <summary>Whether exchanges are recorded for drift at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The reference window: the first this many exchanges of a series after Guard starts.</summary>
    public int ReferenceSize { get; set; } = 200;

    /// <summary>The current window: the last this many exchanges.</summary>
    public int WindowSize { get; set; } = 100;

    /// <summary>The current window is compared with the reference after every this many exchanges.</summary>
    public int EvaluateEvery { get; set; } = 50;

    /// <summary>Label permutations of the MMD test (more: finer p-values, more CPU).</summary>
    public int Permutations { get; set; } = 100;

    /// <summary>An embedding stream alerts when its MMD p-value is at most this …</summary>
    public double PValueThreshold { get; set; } = 0.01;

    /// <summary>… and its squared MMD at least this (an effect size: tiny but significant shifts do not page anyone).</summary>
    public double MinMmd2 { get; set; } = 0.002;

    /// <summary>
    /// A signal alerts only when it is over its threshold in this many consecutive comparisons: one
    /// window in a hundred is over a 1% p-value by chance, two in a row much more rarely, at the cost
    /// of <see cref="EvaluateEvery"/> more exchanges before an alert.
    /// </summary>
    public int ConsecutiveComparisons { get; set; } = 2;

    /// <summary>A length distribution alerts when its PSI is above this (0.25: the usual "significant shift").</summary>
    public double PsiThreshold { get; set; } = 0.25;

    /// <summary>Block or redact rate alerts when it moves by more than this (absolute share) from the reference.</summary>
    public double RateChangeThreshold { get; set; } = 0.15;

    /// <summary>Mean groundedness alerts when it falls by more than this from the reference.</summary>
    public double GroundednessDropThreshold { get; set; } = 0.2;

    /// <summary>At most this many (model, tenant) series are tracked; exchanges of further series are not.</summary>
    public int MaxSeries { get; set; } = 64;

    /// <summary>Seed of the permutation test's random numbers (a fixed seed makes reports reproducible).</summary>
    public int Seed { get; set; } = 18;
}

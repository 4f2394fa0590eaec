using System.Security.Cryptography;
using System.Text;

namespace Mesh.Guard.Redaction;

/// <summary>
/// What replaces a redacted span (Presidio's anonymizer operators). Every operator's output is
/// built from the entity type and the operator's settings only, never from characters of the
/// span, except through a one-way hash.
/// </summary>
public abstract record RedactionOperator
{
    /// <summary>The replacement for the span <paramref name="original"/> of entity type <paramref name="entityType"/>.</summary>
    public abstract string Apply(string entityType, string original);
}

/// <summary>Replaces the span with a fixed text; <c>{entity}</c> in it becomes the entity type.</summary>
public sealed record ReplaceOperator(string Template = "<{entity}>") : RedactionOperator
{
    /// <inheritdoc/>
    public override string Apply(string entityType, string original) => Template.Replace("{entity}", entityType, StringComparison.Ordinal);
}

/// <summary>Replaces every character (code point) of the span with the mask character, keeping its length.</summary>
public sealed record MaskOperator(char MaskChar = '*') : RedactionOperator
{
    /// <inheritdoc/>
    public override string Apply(string entityType, string original)
    {
        var codePoints = 0;
        for (var i = 0; i < original.Length; i++)
        {
            if (!(char.IsLowSurrogate(original[i]) && i > 0 && char.IsHighSurrogate(original[i - 1])))
            {
                codePoints++;
            }
        }
        return new string(MaskChar, codePoints);
    }
}

/// <summary>
/// Replaces the span with <c>&lt;ENTITY:hex&gt;</c>, the first 16 hex digits of SHA-256 over the
/// salt and the value: equal values give equal tokens (joins and counts still work downstream)
/// without revealing the value. Set a salt: card numbers and SSNs are few enough to brute-force.
/// </summary>
public sealed record HashOperator(string Salt = "") : RedactionOperator
{
    /// <inheritdoc/>
    public override string Apply(string entityType, string original)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(Salt + original));
        return $"<{entityType}:{Convert.ToHexStringLower(hash, 0, 8)}>";
    }
}

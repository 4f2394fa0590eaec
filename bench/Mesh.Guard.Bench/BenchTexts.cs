using System.Text;

namespace Mesh.Guard.Bench;

/// <summary>
/// Deterministic 4 KB texts of support-style prose. One in four carries personal data (an e-mail,
/// a phone number, a card), as real traffic does, so that redaction is part of what is timed.
/// </summary>
internal static class BenchTexts
{
    private static readonly string[] Sentences =
    [
        "Thanks for reaching out about your recent order.",
        "I checked the shipment and it left our warehouse on Tuesday morning.",
        "The courier usually delivers within three to five business days.",
        "If the package does not arrive by Friday, please reply to this message and we will open an investigation.",
        "Your subscription renews automatically at the start of each month.",
        "You can change the plan or cancel at any time from the account settings page.",
        "We have applied a ten percent discount to your next invoice as an apology for the delay.",
        "The firmware update fixes the Bluetooth pairing problem you described.",
        "To install it, open the companion app, select the device and tap the update button.",
        "Make sure the battery is above fifty percent before you start.",
        "Our support team is available from nine to six on weekdays.",
        "Please keep your ticket number handy when you contact us again.",
        "The replacement part is in stock and can be shipped today.",
        "We noticed two failed login attempts on your account and recommend changing your password.",
        "Return labels are valid for thirty days from the date they are issued.",
        "The refund will appear on your statement within five to ten business days.",
    ];

    private static readonly string[] Personal =
    [
        "You can also write to maria.jensen@example.com directly.",
        "Call our escalation desk on +1 (415) 555-0134 if it is urgent.",
        "The card on file, 4111 1111 1111 1111, was charged once.",
    ];

    public static string[] Create(int count, int chars, int seed = 7)
    {
        var random = new Random(seed);
        var texts = new string[count];
        for (var i = 0; i < count; i++)
        {
            var sb = new StringBuilder(chars + 200);
            var personal = i % 4 == 0;
            while (sb.Length < chars)
            {
                var sentence = personal && random.Next(12) == 0
                    ? Personal[random.Next(Personal.Length)]
                    : Sentences[random.Next(Sentences.Length)];
                sb.Append(sentence).Append(random.Next(5) == 0 ? "\n" : " ");
            }
            var text = sb.ToString();
            // Cut at the last space before the size so that no word (or card number) is split.
            var cut = text.LastIndexOf(' ', chars - 1);
            texts[i] = text[..(cut > 0 ? cut : chars)];
        }
        return texts;
    }
}

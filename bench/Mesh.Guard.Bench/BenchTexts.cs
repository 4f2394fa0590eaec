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

    private static readonly string[] Templates =
    [
        "{0} asked on {1} whether order {2} with the {3} could still ship to {4} before the weekend.",
        "The {3} that {0} returned on {1} arrived in {4} with a cracked case, ticket {2}.",
        "Our warehouse in {4} packed {2} units of the {3} on {1}, and {0} signed for the pallet.",
        "{0} reports that the {3} loses its connection every few minutes since the update on {1} (case {2}).",
        "Please confirm with {0} that invoice {2} for the {3} is paid before {1}, then close the file in {4}.",
        "A customer in {4} wants to swap the {3} from order {2} for a larger size; {0} approved it on {1}.",
        "{0} from the {4} office will call back on {1} about the warranty claim {2} on the {3}.",
        "The courier lost parcel {2} with the {3} near {4}, so {0} issued a replacement on {1}.",
    ];

    private static readonly string[] Names = ["Maria", "Tom", "Aisha", "Kenji", "Lucia", "Omar", "Greta", "Ravi", "Sven", "Chloe", "Diego"];
    private static readonly string[] Days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "the first of May", "New Year's Eve", "the next business day"];
    private static readonly string[] Products = ["wireless headphones", "espresso machine", "standing desk", "smart thermostat", "trail running shoes", "robot vacuum", "4K monitor", "baby stroller", "electric kettle", "gaming chair", "camera lens", "yoga mat", "air purifier"];
    private static readonly string[] Cities = ["Lisbon", "Denver", "Osaka", "Nairobi", "Hamburg", "Toronto", "Melbourne", "Lyon", "Austin", "Krakow"];

    /// <summary>
    /// Texts of about <paramref name="chars"/> characters whose sentences all differ, from each other
    /// and from every other text (each carries its own order and ticket numbers): a first-seen
    /// prompt, which no sentence cache and no de-duplication can shorten. Text k of one call is the
    /// same in every run.
    /// </summary>
    public static string[] CreateDistinct(int count, int chars, int first = 0)
    {
        var texts = new string[count];
        for (var i = 0; i < count; i++)
        {
            var k = first + i;
            var sb = new StringBuilder(chars + 200);
            for (var j = 0; sb.Length < chars; j++)
            {
                var s = k * 1000 + j;
                sb.AppendFormat(Templates[(j + k) % Templates.Length], Names[s % Names.Length], Days[s / 3 % Days.Length],
                    10_000 + s * 37 % 89_989 + s / 89_989 * 100_000, Products[s / 7 % Products.Length], Cities[s / 11 % Cities.Length]);
                sb.Append(j % 5 == 4 ? "\n" : " ");
            }
            var text = sb.ToString();
            var cut = text.LastIndexOf(' ', chars - 1);
            texts[i] = text[..(cut > 0 ? cut : chars)];
        }
        return texts;
    }

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

using Mesh.Guard.V1;

namespace Mesh.Guard.Tests;

/// <summary>
/// Formats are checked on a folded value: any letter case, any script's decimal digits. Each
/// detector whose format has letters or digits is tried in the forms a user would write.
/// </summary>
[Collection(GuardCollection.Name)]
public sealed class PiiFormatFoldingTests(TestPolicyServer tests)
{
    [Theory]
    [InlineData("wire it to gb82west12345698765432 today", "gb82west12345698765432")]
    [InlineData("IBAN de89 3704 0044 0532 0130 00, thanks", "de89 3704 0044 0532 0130 00")]
    [InlineData("account Gb82 WeSt 1234 5698 7654 32.", "Gb82 WeSt 1234 5698 7654 32")]
    [InlineData("IBAN GB82WEST12345698765432", "GB82WEST12345698765432")]
    [InlineData("nl91abna0417164300 is mine", "nl91abna0417164300")]
    public async Task Ibans_are_found_in_any_letter_case(string text, string iban) =>
        await AssertFound(text, "IBAN_CODE", iban);

    [Theory]
    [InlineData("gb83west12345698765432")]
    [InlineData("de88 3704 0044 0532 0130 00")]
    [InlineData("xx82west12345698765432")]
    public async Task Lower_case_ibans_with_a_wrong_check_or_country_are_not(string iban)
    {
        var response = await tests.Server.CheckAsync($"ref {iban} ok", Stage.Output, "pii");
        Assert.DoesNotContain(response.Violations, v => v.EntityType == "IBAN_CODE");
    }

    [Theory]
    [InlineData("write to JANE.DOE@EXAMPLE.ORG now", "EMAIL_ADDRESS", "JANE.DOE@EXAMPLE.ORG")]
    [InlineData("write to Jane.Doe@Example.Org now", "EMAIL_ADDRESS", "Jane.Doe@Example.Org")]
    [InlineData("host 2001:DB8::FF00:42:8329 is up", "IP_ADDRESS", "2001:DB8::FF00:42:8329")]
    [InlineData("host 2001:db8::ff00:42:8329 is up", "IP_ADDRESS", "2001:db8::ff00:42:8329")]
    public async Task Letters_in_other_formats_are_found_in_any_case(string text, string entity, string value) =>
        await AssertFound(text, entity, value);

    [Theory]
    [InlineData("card ٤١١١ ١١١١ ١١١١ ١١١١ expires soon", "CREDIT_CARD", "٤١١١ ١١١١ ١١١١ ١١١١")]
    [InlineData("card ４１１１１１１１１１１１１１１１ expires soon", "CREDIT_CARD", "４１１１１１１１１１１１１１１１")]
    [InlineData("my SSN is ५३६-२२-४८७५ ok", "US_SSN", "५३६-२२-४८७५")]
    [InlineData("call me at +٤٤ ٢٠ ٧٩٤٦ ٠٠١٨ later", "PHONE_NUMBER", "+٤٤ ٢٠ ٧٩٤٦ ٠٠١٨")]
    [InlineData("IBAN DE٨٩ ٣٧٠٤ ٠٠٤٤ ٠٥٣٢ ٠١٣٠ ٠٠", "IBAN_CODE", "DE٨٩ ٣٧٠٤ ٠٠٤٤ ٠٥٣٢ ٠١٣٠ ٠٠")]
    public async Task Digits_of_any_script_are_read_as_digits(string text, string entity, string value) =>
        await AssertFound(text, entity, value);

    [Fact]
    public async Task Numbers_in_other_scripts_that_fail_their_checks_are_not_reported_and_never_fail_the_call()
    {
        // Before folding, 13+ non-ASCII digits reached the card check with no ASCII digit and the
        // call failed with UNKNOWN (index out of range).
        var random = new Random(11);
        var scripts = new[] { '0', '٠', '०', '০', '０', '๐' };
        for (var i = 0; i < 200; i++)
        {
            var zero = scripts[random.Next(scripts.Length)];
            var digits = new string(Enumerable.Range(0, random.Next(9, 20)).Select(_ => (char)(zero + random.Next(10))).ToArray());
            var response = await tests.Server.CheckAsync($"number {digits} end", Stage.Output, "pii");
            Assert.NotNull(response);
        }
        var luhnFails = await tests.Server.CheckAsync("card ٤١١١ ١١١١ ١١١١ ١١١٢ expires", Stage.Output, "pii");
        Assert.DoesNotContain(luhnFails.Violations, v => v.EntityType == "CREDIT_CARD");
    }

    [Fact]
    public async Task Credentials_keep_their_case_because_their_format_fixes_it()
    {
        // An AWS access key id is upper-case by definition; its lower-case form is not a credential.
        var upper = await tests.Server.CheckAsync("key AKIAZ3MXQWERTY7PLK2B here", Stage.Output, "secrets");
        Assert.Contains(upper.Violations, v => v.EntityType == "AWS_ACCESS_KEY");
        var lower = await tests.Server.CheckAsync("key akiaz3mxqwerty7plk2b here", Stage.Output, "secrets");
        Assert.DoesNotContain(lower.Violations, v => v.EntityType == "AWS_ACCESS_KEY");
    }

    private async Task AssertFound(string text, string entity, string value)
    {
        var response = await tests.Server.CheckAsync(text, Stage.Output, "pii");
        var start = text.IndexOf(value, StringComparison.Ordinal);
        Assert.Contains(response.Violations, v => v.EntityType == entity && v.Start == start && v.End == start + value.Length);
    }
}

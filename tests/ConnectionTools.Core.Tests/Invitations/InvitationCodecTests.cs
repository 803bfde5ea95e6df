using System.Collections.Concurrent;
using System.Text;
using System.Text.RegularExpressions;
using ConnectionTools.Errors;
using ConnectionTools.Invitations;

namespace ConnectionTools.Core.Tests.Invitations;

public class InvitationCodecTests
{
    private static readonly Guid ConnectionId = Guid.Parse("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d");
    private static readonly Guid PublicNodeId = Guid.Parse("f0e1d2c3-b4a5-4968-8776-655443322110");
    private static readonly DateTimeOffset ExpiresAt = new(2030, 1, 15, 12, 30, 45, TimeSpan.Zero);

    private static Invitation Typical(InvitationSecret? secret = null, PrivateConnectionMode mode = PrivateConnectionMode.Basic) => new(
        ConnectionId,
        "crm-eu-prod",
        mode,
        new Uri("https://node.example.com:8443"),
        PublicNodeId,
        "0.1.0",
        "contoso-public-node",
        ExpiresAt,
        secret ?? InvitationSecret.New());

    private static Invitation With(
        string? name = null,
        string? url = null,
        string? version = null,
        string? instance = null,
        PrivateConnectionMode mode = PrivateConnectionMode.Basic,
        InvitationSecret? secret = null) => new(
        ConnectionId,
        name ?? "crm-eu-prod",
        mode,
        new Uri(url ?? "https://node.example.com:8443", UriKind.RelativeOrAbsolute),
        PublicNodeId,
        version ?? "0.1.0",
        instance ?? "contoso-public-node",
        ExpiresAt,
        secret ?? InvitationSecret.New());

    /// <summary>The code's symbols without prefix and dashes, as base32 of the payload.</summary>
    private static string Symbols(string code) => code[(InvitationCodec.Prefix.Length + 1)..].Replace("-", "");

    /// <summary>The stretch of symbols that encodes only secret bits; a message holding it would leak most of the secret.</summary>
    private static string SecretSymbols(string code)
    {
        var first = (InvitationCodec.SecretOffset * 8 + 4) / 5;
        var end = (InvitationCodec.SecretOffset + InvitationSecret.Length) * 8 / 5;
        return Symbols(code)[first..end];
    }

    private static ConnectionToolsException DecodeFails(string? code, string errorId)
    {
        var error = Assert.Throws<ConnectionToolsException>(() => InvitationCodec.Decode(code!));
        Assert.Equal(errorId, error.ErrorId);
        Assert.True(error.Kind is ErrorKind.InvalidArgument or ErrorKind.InvalidData, $"kind {error.Kind}");
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.False(string.IsNullOrWhiteSpace(error.RecommendedAction));
        return error;
    }

    private static void AssertShowsNothingOf(ConnectionToolsException error, Invitation invitation, string code)
    {
        foreach (var text in new[] { error.Message, error.RecommendedAction, error.Target?.ToString(), error.InnerException?.Message })
        {
            InvitationSecretTests.AssertDoesNotShow(invitation.Secret, text);
            Assert.DoesNotContain(SecretSymbols(code), text ?? "", StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(code, text ?? "", StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>Re-seals damaged bytes with a correct CRC, as someone editing a code on purpose would.</summary>
    private static string WithFixedCrc(byte[] payload)
    {
        var crcOffset = payload.Length - InvitationCodec.CrcLength;
        var crc = Crc32.Compute(payload, 0, crcOffset);
        for (var i = 0; i < 4; i++)
        {
            payload[crcOffset + i] = (byte)(crc >> (24 - (8 * i)));
        }

        return InvitationCodec.FromBytes(payload);
    }

    private static string Replace(string code, int index, char replacement) => code[..index] + replacement + code[(index + 1)..];

    /// <summary>A symbol with a different value, so the change is a real typo and not a Crockford look-alike.</summary>
    private static char OtherSymbol(char symbol) => Base32.ValueOf(symbol) == Base32.ValueOf('7') ? 'K' : '7';

    [Theory]
    [InlineData(PrivateConnectionMode.Basic, "crm-eu-prod", "contoso-public-node", "https://node.example.com:8443")]
    [InlineData(PrivateConnectionMode.Script, "Ärzte-CRM Zürich 東京 😀", "Fabrikam Öffentlich – 北", "http://10.0.0.5:5000/ct/peer")]
    public void Every_field_survives_a_round_trip(PrivateConnectionMode mode, string name, string instance, string url)
    {
        var secret = InvitationSecret.New();
        var original = new Invitation(ConnectionId, name, mode, new Uri(url), PublicNodeId, "1.2.3-beta.4", instance, ExpiresAt, secret);

        var decoded = InvitationCodec.Decode(InvitationCodec.Encode(original));

        Assert.Equal(ConnectionId, decoded.ConnectionId);
        Assert.Equal(name, decoded.ConnectionName);
        Assert.Equal(mode, decoded.Mode);
        Assert.Equal("Private", decoded.ConnectionType);
        Assert.Equal(new Uri(url), decoded.PublicNodeUrl);
        Assert.Equal(PublicNodeId, decoded.PublicNodeId);
        Assert.Equal("1.2.3-beta.4", decoded.PublicNodeVersion);
        Assert.Equal(instance, decoded.InitiatorInstanceName);
        Assert.Equal(ExpiresAt, decoded.ExpiresAt);
        Assert.Equal(secret.ToArray(), decoded.Secret.ToArray());
        Assert.True(decoded.Secret.Matches(secret.ComputeVerifier()));
    }

    [Fact]
    public void Ids_are_carried_exactly_whatever_their_bytes()
    {
        for (var i = 0; i < 50; i++)
        {
            var connectionId = Guid.NewGuid();
            var nodeId = Guid.NewGuid();
            var original = new Invitation(connectionId, "c", PrivateConnectionMode.Basic, new Uri("https://n.example"), nodeId, "1", "i", ExpiresAt, InvitationSecret.New());
            var decoded = InvitationCodec.Decode(InvitationCodec.Encode(original));
            Assert.Equal(connectionId, decoded.ConnectionId);
            Assert.Equal(nodeId, decoded.PublicNodeId);
        }
    }

    [Fact]
    public void The_expiry_is_carried_in_whole_seconds()
    {
        var precise = new DateTimeOffset(2031, 3, 4, 5, 6, 7, 890, TimeSpan.FromHours(2)).AddTicks(1234);
        var invitation = new Invitation(ConnectionId, "c", PrivateConnectionMode.Basic, new Uri("https://n.example"), PublicNodeId, "1", "i", precise, InvitationSecret.New());

        var decoded = InvitationCodec.Decode(InvitationCodec.Encode(invitation));

        Assert.Equal(new DateTimeOffset(2031, 3, 4, 3, 6, 7, TimeSpan.Zero), invitation.ExpiresAt);
        Assert.Equal(invitation.ExpiresAt, decoded.ExpiresAt);
    }

    [Fact]
    public void Decoding_does_not_check_the_expiry_the_caller_does()
    {
        var past = new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var invitation = new Invitation(ConnectionId, "c", PrivateConnectionMode.Basic, new Uri("https://n.example"), PublicNodeId, "1", "i", past, InvitationSecret.New());

        var decoded = InvitationCodec.Decode(InvitationCodec.Encode(invitation));

        Assert.True(decoded.IsExpired(DateTimeOffset.UtcNow));
        Assert.True(decoded.IsExpired(past));
        Assert.False(decoded.IsExpired(past.AddSeconds(-1)));
    }

    [Fact]
    public void The_code_starts_with_CT1_and_uses_only_Crockford_symbols_in_groups_of_six()
    {
        Assert.Equal(InvitationCodec.Prefix, "CT" + Invitation.FormatVersion);
        for (var i = 0; i < 20; i++)
        {
            var code = InvitationCodec.Encode(With(name: "Ärzte " + i, mode: (PrivateConnectionMode)(i % 2)));
            Assert.StartsWith("CT1-", code);
            Assert.Matches(new Regex("^CT1(-[0-9A-HJKMNP-TV-Z]{6})*-[0-9A-HJKMNP-TV-Z]{1,6}$"), code);
        }
    }

    [Fact]
    public void A_typical_code_is_well_under_600_characters()
    {
        var code = InvitationCodec.Encode(Typical());
        Assert.True(code.Length < 600, $"{code.Length} characters");
    }

    [Fact]
    public void The_code_does_not_show_the_secret_in_any_common_encoding()
    {
        var invitation = Typical();
        var code = InvitationCodec.Encode(invitation);
        InvitationSecretTests.AssertDoesNotShow(invitation.Secret, code.Replace("-", ""));
        InvitationSecretTests.AssertDoesNotShow(invitation.Secret, invitation.ToString());
        Assert.Contains("crm-eu-prod", invitation.ToString());
    }

    [Theory]
    [InlineData("lower case")]
    [InlineData("line breaks")]
    [InlineData("spaces and tabs")]
    [InlineData("no dashes")]
    [InlineData("no first dash")]
    [InlineData("double quotes")]
    [InlineData("single quotes")]
    [InlineData("smart quotes")]
    [InlineData("typographic dashes")]
    [InlineData("invisible characters")]
    [InlineData("look-alike letters")]
    public void Copy_and_paste_damage_still_decodes(string damage)
    {
        var invitation = Typical();
        var code = InvitationCodec.Encode(invitation);
        var damaged = damage switch
        {
            "lower case" => code.ToLowerInvariant(),
            "line breaks" => string.Join("\r\n", code.Chunk(40).Select(c => new string(c))) + "\n",
            "spaces and tabs" => "  \t" + code.Replace("-", " - ") + " \u00A0",
            "no dashes" => code.Replace("-", ""),
            "no first dash" => "CT1" + code[4..],
            "double quotes" => "\"" + code + "\"",
            "single quotes" => " '" + code + "' ",
            "smart quotes" => "\u201C" + code + "\u201D",
            "typographic dashes" => code.Replace('-', '\u2013'),
            "invisible characters" => "\uFEFF" + code.Replace("-", "-\u200B"),
            "look-alike letters" => "CT1-" + code[4..].Replace('1', 'l').Replace('0', 'O'),
            _ => throw new ArgumentOutOfRangeException(nameof(damage)),
        };
        Assert.NotEqual(code, damaged);

        var decoded = InvitationCodec.Decode(damaged);

        Assert.Equal(invitation.ConnectionName, decoded.ConnectionName);
        Assert.Equal(invitation.Secret.ToArray(), decoded.Secret.ToArray());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\r\n\t")]
    [InlineData("\"\"")]
    public void Nothing_is_malformed(string? code) => DecodeFails(code, ErrorIds.InvitationMalformed);

    [Theory]
    [InlineData("hello world")]
    [InlineData("https://node.example.com:8443")]
    [InlineData("CTX-ABCDEF")]
    [InlineData("CT-1ABCDE")]
    [InlineData("C")]
    [InlineData("Invitation: CT1-00000")]
    public void Text_that_is_not_a_code_is_malformed(string code)
    {
        var error = DecodeFails(code, ErrorIds.InvitationMalformed);
        Assert.Contains("CT1-", error.Message);
    }

    [Theory]
    [InlineData('#', "'#'")]
    [InlineData('U', "'U'")]
    [InlineData('*', "'*'")]
    [InlineData('é', "U+00E9")]
    [InlineData('\0', "U+0000")]
    public void A_character_no_code_contains_is_malformed_and_named(char foreign, string shown)
    {
        var invitation = Typical();
        var code = InvitationCodec.Encode(invitation);
        var error = DecodeFails(Replace(code, code.Length / 2, foreign), ErrorIds.InvitationMalformed);
        Assert.Contains(shown, error.Message);
        AssertShowsNothingOf(error, invitation, code);
    }

    [Fact]
    public void An_absurdly_long_text_is_malformed_before_it_is_read()
    {
        var error = DecodeFails("CT1-" + new string('A', 100_000), ErrorIds.InvitationMalformed);
        Assert.Contains("100004 characters", error.Message);
        Assert.Contains("4096", error.Message);
    }

    [Fact]
    public void Text_copied_along_with_the_code_is_malformed()
    {
        var invitation = Typical();
        var code = InvitationCodec.Encode(invitation);
        var error = DecodeFails(code + " REGARDS", ErrorIds.InvitationMalformed);
        Assert.Contains("more characters than it declares", error.Message);
        AssertShowsNothingOf(error, invitation, code);
    }

    [Theory]
    [InlineData("CT2-", 2, "Update-Module")]
    [InlineData("ct2-", 2, "Update-Module")]
    [InlineData("CT2", 2, "Update-Module")]
    [InlineData("CT12-", 12, "Update-Module")]
    [InlineData("CT0-", 0, "Get-InvitationCode -Renew")]
    public void A_code_of_another_format_version_says_which_and_what_to_do(string prefix, int version, string advice)
    {
        var invitation = Typical();
        var code = InvitationCodec.Encode(invitation);
        var error = DecodeFails(prefix + code[4..], ErrorIds.InvitationUnsupportedVersion);
        Assert.Contains($"format version {version};", error.Message);
        Assert.Contains("reads format version 1", error.Message);
        Assert.Contains(advice, error.RecommendedAction);
        AssertShowsNothingOf(error, invitation, code);
    }

    [Fact]
    public void A_version_byte_this_module_does_not_read_is_unsupported_even_under_a_CT1_prefix()
    {
        var payload = InvitationCodec.ToBytes(InvitationCodec.Encode(Typical()));
        payload[InvitationCodec.VersionOffset] = 2;
        var error = DecodeFails(WithFixedCrc(payload), ErrorIds.InvitationUnsupportedVersion);
        Assert.Contains("format version 2", error.Message);
    }

    [Fact]
    public void Losing_the_last_five_characters_is_truncation()
    {
        var invitation = Typical();
        var code = InvitationCodec.Encode(invitation);
        var error = DecodeFails(code[..^5], ErrorIds.InvitationTruncated);
        Assert.Contains("missing", error.Message);
        Assert.Contains("Copy the whole code again", error.RecommendedAction);
        AssertShowsNothingOf(error, invitation, code);
    }

    [Fact]
    public void Every_cut_after_the_prefix_is_truncation()
    {
        var code = InvitationCodec.Encode(Typical());
        for (var length = InvitationCodec.Prefix.Length; length < code.Length; length++)
        {
            var error = Assert.Throws<ConnectionToolsException>(() => InvitationCodec.Decode(code[..length]));
            Assert.True(error.ErrorId == ErrorIds.InvitationTruncated, $"cut at {length}: {error.ErrorId}");
        }
    }

    [Fact]
    public void One_changed_character_in_the_middle_is_a_typo()
    {
        var invitation = Typical();
        var code = InvitationCodec.Encode(invitation);
        var middle = code.Length / 2;
        if (code[middle] == '-')
        {
            middle++;
        }

        var error = DecodeFails(Replace(code, middle, OtherSymbol(code[middle])), ErrorIds.InvitationMistyped);
        Assert.Contains("checksum", error.Message);
        AssertShowsNothingOf(error, invitation, code);
    }

    [Fact]
    public void A_changed_character_anywhere_is_caught_before_the_network()
    {
        var code = InvitationCodec.Encode(Typical());
        var symbols = Symbols(code);

        // Symbols 3 to 6 hold the declared length; a typo there can also read as truncation or extra text.
        var lengthSymbols = Enumerable.Range(InvitationCodec.LengthOffset * 8 / 5, 4).ToHashSet();
        for (var i = 0; i < symbols.Length; i++)
        {
            var damaged = "CT1-" + symbols[..i] + OtherSymbol(symbols[i]) + symbols[(i + 1)..];
            var error = Assert.Throws<ConnectionToolsException>(() => InvitationCodec.Decode(damaged));
            if (lengthSymbols.Contains(i))
            {
                Assert.Contains(error.ErrorId, new[] { ErrorIds.InvitationMistyped, ErrorIds.InvitationTruncated, ErrorIds.InvitationMalformed });
            }
            else
            {
                Assert.True(error.ErrorId == ErrorIds.InvitationMistyped, $"symbol {i}: {error.ErrorId}");
            }
        }
    }

    [Fact]
    public void A_last_character_that_differs_only_in_its_unused_bits_is_a_typo()
    {
        // Pick a name that leaves unused bits in the last symbol; the CRC cannot see them, so they must be zero.
        var code = Enumerable.Range(1, 5)
            .Select(n => InvitationCodec.Encode(With(name: new string('c', n))))
            .First(c => Symbols(c).Length * 5 > InvitationCodec.ToBytes(c).Length * 8);
        var last = Base32.ValueOf(code[^1]);
        Assert.Equal(0, last & 1);

        DecodeFails(code[..^1] + Base32.Alphabet[last | 1], ErrorIds.InvitationMistyped);
    }

    [Fact]
    public void Two_swapped_characters_are_a_typo()
    {
        var code = InvitationCodec.Encode(Typical());
        var symbols = Symbols(code);
        var i = symbols.Length / 2;
        while (Base32.ValueOf(symbols[i]) == Base32.ValueOf(symbols[i + 1]))
        {
            i++;
        }

        var swapped = "CT1-" + symbols[..i] + symbols[i + 1] + symbols[i] + symbols[(i + 2)..];
        DecodeFails(swapped, ErrorIds.InvitationMistyped);
    }

    [Theory]
    [InlineData(InvitationCodec.ConnectionIdOffset)]
    [InlineData(InvitationCodec.ExpiresAtOffset + 7)]
    [InlineData(InvitationCodec.SecretOffset + 3)]
    [InlineData(InvitationCodec.TextOffset + 2)]
    [InlineData(InvitationCodec.ModeOffset)]
    public void An_edit_that_also_fixes_the_checksum_is_tampering(int offset)
    {
        var invitation = Typical();
        var code = InvitationCodec.Encode(invitation);
        var payload = InvitationCodec.ToBytes(code);
        payload[offset] ^= 0x01;

        var error = DecodeFails(WithFixedCrc(payload), ErrorIds.InvitationTampered);
        Assert.Contains("Get-InvitationCode -Renew", error.RecommendedAction);
        AssertShowsNothingOf(error, invitation, code);
    }

    [Fact]
    public void ToBytes_and_FromBytes_are_inverse()
    {
        var code = InvitationCodec.Encode(Typical());
        Assert.Equal(code, InvitationCodec.FromBytes(InvitationCodec.ToBytes(code)));
    }

    public static TheoryData<string, byte, string[]> SealedButInvalid => new()
    {
        { "mode", 3, new[] { "crm", "https://n.example/", "1", "i" } },
        { "mode", 0, new[] { "crm", "https://n.example/", "1", "i" } },
        { "connection name", 1, new[] { "crm*", "https://n.example/", "1", "i" } },
        { "connection name", 1, new[] { "", "https://n.example/", "1", "i" } },
        { "URL", 1, new[] { "crm", "ftp://n.example/", "1", "i" } },
        { "URL", 1, new[] { "crm", "/relative/path", "1", "i" } },
        { "URL", 1, new[] { "crm", "not a url", "1", "i" } },
        { "control characters", 1, new[] { "crm", "https://n.example/", "1", "evil\u001b[2J" } },
        { "is missing", 1, new[] { "crm", "https://n.example/", "1" } },
        { "after its last field", 1, new[] { "crm", "https://n.example/", "1", "i", "extra" } },
    };

    [Theory]
    [MemberData(nameof(SealedButInvalid))]
    public void A_correctly_sealed_code_with_a_bad_field_is_malformed(string problem, byte mode, string[] texts)
    {
        var secret = InvitationSecret.New();
        var payload = InvitationCodec.Pack(1, mode, ConnectionId, PublicNodeId, ExpiresAt.ToUnixTimeSeconds(), secret, texts.Select(Encoding.UTF8.GetBytes).ToArray());

        var error = DecodeFails(InvitationCodec.FromBytes(payload), ErrorIds.InvitationMalformed);

        Assert.Equal(ErrorKind.InvalidData, error.Kind);
        Assert.Contains(problem, error.Message);
        InvitationSecretTests.AssertDoesNotShow(secret, error.Message);
    }

    [Fact]
    public void Text_that_is_not_UTF8_is_malformed()
    {
        var payload = InvitationCodec.Pack(1, 1, ConnectionId, PublicNodeId, 0, InvitationSecret.New(), new byte[] { 0x63, 0xC3, 0x28 }, "https://n.example/"u8.ToArray(), "1"u8.ToArray(), "i"u8.ToArray());
        var error = DecodeFails(InvitationCodec.FromBytes(payload), ErrorIds.InvitationMalformed);
        Assert.Contains("UTF-8", error.Message);
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MinValue)]
    [InlineData(253_402_300_800L)]
    public void An_expiry_outside_the_calendar_is_malformed(long seconds)
    {
        var payload = InvitationCodec.Pack(1, 1, ConnectionId, PublicNodeId, seconds, InvitationSecret.New(), "c"u8.ToArray(), "https://n.example/"u8.ToArray(), "1"u8.ToArray(), "i"u8.ToArray());
        var error = DecodeFails(InvitationCodec.FromBytes(payload), ErrorIds.InvitationMalformed);
        Assert.Contains("expiry", error.Message);
    }

    public static TheoryData<string, Invitation> InvalidInvitations => new()
    {
        { "wildcard in the name", With(name: "crm*") },
        { "name too long", With(name: new string('n', 129)) },
        { "ftp URL", With(url: "ftp://node.example.com/") },
        { "relative URL", With(url: "/peer") },
        { "file URL", With(url: "file:///etc/passwd") },
        { "version over 2,048 bytes", With(version: new string('v', 2049)) },
        { "instance name over 2,048 bytes in UTF-8", With(instance: new string('ö', 1025)) },
        { "control characters in the instance name", With(instance: "evil\u001b[2J") },
        { "unpaired surrogate", With(instance: "half \uD800 pair") },
        { "Visual or unknown mode", With(mode: (PrivateConnectionMode)2) },
        { "code over the length limit", With(url: "https://node.example.com/" + new string('p', 1900)) },
    };

    [Theory]
    [MemberData(nameof(InvalidInvitations))]
    public void Encode_refuses_what_a_private_side_could_not_use(string problem, Invitation invitation)
    {
        var error = Assert.ThrowsAny<ArgumentException>(() => InvitationCodec.Encode(invitation));
        Assert.False(string.IsNullOrEmpty(error.Message), problem);
    }

    [Fact]
    public void Encode_refuses_null() => Assert.Throws<ArgumentNullException>(() => InvitationCodec.Encode(null!));

    [Fact]
    public void The_largest_code_Encode_writes_still_decodes_after_mail_wraps_and_quotes_it()
    {
        string? largest = null;
        for (var length = 500; ; length++)
        {
            try
            {
                largest = InvitationCodec.Encode(With(name: new string('名', 128), url: "https://node.example.com/" + new string('p', length)));
            }
            catch (ArgumentException)
            {
                break;
            }
        }

        Assert.NotNull(largest);
        Assert.True(largest.Length <= InvitationCodec.MaxEncodedLength);
        var mailed = "> \"" + string.Join("\r\n> ", largest.Chunk(60).Select(c => new string(c))) + "\"";
        mailed = mailed.Replace("> ", "   ");
        Assert.True(mailed.Length <= InvitationCodec.MaxCodeLength, $"{mailed.Length}");
        Assert.Equal(new string('名', 128), InvitationCodec.Decode(mailed).ConnectionName);
    }

    [Fact]
    public void Crc32_is_the_IEEE_one() => Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8.ToArray(), 0, 9));

    [Fact]
    public void Base32_round_trips_every_length_and_reads_look_alikes()
    {
        var random = new Random(5);
        for (var length = 0; length < 64; length++)
        {
            var bytes = new byte[length];
            random.NextBytes(bytes);
            var text = Base32.Encode(bytes);
            Assert.Equal(Base32.SymbolCount(length), text.Length);
            Assert.Equal(bytes, Base32.Decode(text.ToLowerInvariant().ToCharArray(), text.Length, out var paddingIsZero));
            Assert.True(paddingIsZero);
        }

        Assert.Equal(1, Base32.ValueOf('I'));
        Assert.Equal(1, Base32.ValueOf('l'));
        Assert.Equal(0, Base32.ValueOf('o'));
        Assert.Equal(-1, Base32.ValueOf('U'));
        Assert.Equal(-1, Base32.ValueOf('é'));
    }

    [Fact]
    public void The_invitation_refuses_missing_values()
    {
        var url = new Uri("https://n.example");
        var secret = InvitationSecret.New();
        Assert.Throws<ArgumentNullException>(() => new Invitation(ConnectionId, null!, PrivateConnectionMode.Basic, url, PublicNodeId, "1", "i", ExpiresAt, secret));
        Assert.Throws<ArgumentNullException>(() => new Invitation(ConnectionId, "c", PrivateConnectionMode.Basic, null!, PublicNodeId, "1", "i", ExpiresAt, secret));
        Assert.Throws<ArgumentNullException>(() => new Invitation(ConnectionId, "c", PrivateConnectionMode.Basic, url, PublicNodeId, null!, "i", ExpiresAt, secret));
        Assert.Throws<ArgumentNullException>(() => new Invitation(ConnectionId, "c", PrivateConnectionMode.Basic, url, PublicNodeId, "1", null!, ExpiresAt, secret));
        Assert.Throws<ArgumentNullException>(() => new Invitation(ConnectionId, "c", PrivateConnectionMode.Basic, url, PublicNodeId, "1", "i", ExpiresAt, null!));
    }

    /// <summary>
    /// Whatever is pasted, Decode answers with an invitation or a ConnectionToolsException, and its messages never carry the secret.
    /// Seeded per chunk, so a failure names a case that can be replayed; chunks run in parallel to keep the test short.
    /// </summary>
    [Fact]
    public void Fuzz_decode_only_ever_throws_ConnectionToolsException_and_never_shows_the_secret()
    {
        const int Chunks = 20;
        const int CasesPerChunk = 5_000;
        var bases = new[]
        {
            Typical(),
            With(name: "Ärzte-CRM 東京", mode: PrivateConnectionMode.Script, instance: "Fabrikam"),
            With(name: new string('x', 128), url: "https://node.example.com/" + new string('p', 180)),
        };
        var codes = bases.Select(InvitationCodec.Encode).ToArray();
        var secretTexts = bases.SelectMany(b => InvitationSecretTests.Renderings(b.Secret)).Concat(codes.Select(SecretSymbols)).ToArray();
        var failures = new ConcurrentQueue<string>();
        var outcomes = new ConcurrentDictionary<string, int>();

        Parallel.For(0, Chunks, chunk =>
        {
            var random = new Random(20_240_611 + chunk);
            for (var n = 0; n < CasesPerChunk; n++)
            {
                var input = FuzzInput(random, n, codes);
                string outcome;
                try
                {
                    InvitationCodec.Decode(input);
                    outcome = "decoded";
                }
                catch (ConnectionToolsException e)
                {
                    outcome = e.ErrorId;
                    if (!e.ErrorId.StartsWith("ConnectionTools.Invitation.", StringComparison.Ordinal))
                    {
                        failures.Enqueue($"chunk {chunk} case {n}: error id {e.ErrorId}");
                    }

                    foreach (var secretText in secretTexts)
                    {
                        if (e.Message.Contains(secretText, StringComparison.OrdinalIgnoreCase) || (e.RecommendedAction ?? "").Contains(secretText, StringComparison.OrdinalIgnoreCase))
                        {
                            failures.Enqueue($"chunk {chunk} case {n}: {e.ErrorId} shows the secret");
                        }
                    }
                }
#pragma warning disable CA1031 // Catching everything is the point: anything but ConnectionToolsException is the failure being looked for.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    outcome = e.GetType().Name;
                    failures.Enqueue($"chunk {chunk} case {n}: {e}");
                }

                outcomes.AddOrUpdate(outcome, 1, (_, count) => count + 1);
            }
        });

        Assert.Empty(failures);

        // The loop only proves something if it reached every stage of decoding.
        foreach (var expected in new[] { "decoded", ErrorIds.InvitationMalformed, ErrorIds.InvitationTruncated, ErrorIds.InvitationMistyped, ErrorIds.InvitationUnsupportedVersion })
        {
            Assert.True(outcomes.GetValueOrDefault(expected) > 0, $"no case ended as {expected}: {string.Join(", ", outcomes)}");
        }

        Assert.Equal(Chunks * CasesPerChunk, outcomes.Values.Sum());
    }

    private const string FuzzAlphabet = Base32.Alphabet + "0123456789abcdefghjkmnpqrstvwxyzILOilo--- \r\n\"'U#*é\0";

    private static string FuzzInput(Random random, int n, string[] codes) => (n % 6) switch
    {
        0 => RandomText(random, random.Next(0, 200), () => (char)random.Next(0, 0x10000)),
        1 => "CT1-" + RandomText(random, random.Next(0, 600), () => FuzzAlphabet[random.Next(FuzzAlphabet.Length)]),
        2 => "CT" + (char)('0' + random.Next(10)) + RandomText(random, random.Next(0, 400), () => Base32.Alphabet[random.Next(32)]),
        3 => Mutate(random, codes[random.Next(codes.Length)], random.Next(1, 4)),
        4 => Cut(random, codes[random.Next(codes.Length)]),
        _ => random.Next(20) == 0
            ? "CT1-" + RandomText(random, random.Next(4000, 4200), () => Base32.Alphabet[random.Next(32)])
            : Mutate(random, codes[random.Next(codes.Length)], 1),
    };

    private static string RandomText(Random random, int length, Func<char> next)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = next();
        }

        return new string(chars);
    }

    private static string Cut(Random random, string code) => code[..random.Next(0, code.Length)];

    private static string Mutate(Random random, string code, int mutations)
    {
        var text = new StringBuilder(code);
        for (var m = 0; m < mutations && text.Length > 1; m++)
        {
            var at = random.Next(text.Length - 1);
            switch (random.Next(5))
            {
                case 0:
                    text[at] = FuzzAlphabet[random.Next(FuzzAlphabet.Length)];
                    break;
                case 1:
                    text.Insert(at, FuzzAlphabet[random.Next(FuzzAlphabet.Length)]);
                    break;
                case 2:
                    text.Remove(at, 1);
                    break;
                case 3:
                    (text[at], text[at + 1]) = (text[at + 1], text[at]);
                    break;
                default:
                    text.Length = random.Next(text.Length);
                    break;
            }
        }

        return text.ToString();
    }
}

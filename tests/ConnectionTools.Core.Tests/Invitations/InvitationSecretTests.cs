using System.Security.Cryptography;
using System.Text;
using ConnectionTools.Invitations;

namespace ConnectionTools.Core.Tests.Invitations;

public class InvitationSecretTests
{
    private static readonly Guid ConnectionId = Guid.Parse("6f1c2a4e-3b5d-4e7f-8a9b-0c1d2e3f4a5b");

    /// <summary>The ways a secret could show up if it leaked into text.</summary>
    internal static IEnumerable<string> Renderings(InvitationSecret secret)
    {
        var bytes = secret.ToArray();
        yield return Convert.ToHexString(bytes);
        yield return Convert.ToHexString(bytes).ToLowerInvariant();
        yield return Convert.ToBase64String(bytes);
        yield return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        yield return Base32.Encode(bytes);
        yield return BitConverter.ToString(bytes);
    }

    internal static void AssertDoesNotShow(InvitationSecret secret, string? text)
    {
        foreach (var rendering in Renderings(secret))
        {
            Assert.DoesNotContain(rendering, text ?? "", StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public void New_secrets_are_160_random_bits_and_differ()
    {
        var a = InvitationSecret.New().ToArray();
        var b = InvitationSecret.New().ToArray();
        Assert.Equal(20, InvitationSecret.Length);
        Assert.Equal(InvitationSecret.Length, a.Length);
        Assert.NotEqual(a, b);
        Assert.NotEqual(new byte[InvitationSecret.Length], a);
    }

    [Fact]
    public void FromBytes_copies_so_the_caller_cannot_change_the_secret_afterwards()
    {
        var bytes = Enumerable.Range(1, InvitationSecret.Length).Select(i => (byte)i).ToArray();
        var secret = InvitationSecret.FromBytes(bytes);
        var verifier = secret.ComputeVerifier();

        bytes[0] = 0xFF;
        secret.ToArray()[1] = 0xFF;

        Assert.Equal(Enumerable.Range(1, InvitationSecret.Length).Select(i => (byte)i).ToArray(), secret.ToArray());
        Assert.Equal(verifier, secret.ComputeVerifier());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(19)]
    [InlineData(21)]
    [InlineData(32)]
    public void FromBytes_refuses_the_wrong_length(int length)
    {
        var error = Assert.Throws<ArgumentException>(() => InvitationSecret.FromBytes(new byte[length]));
        Assert.Contains("20 bytes", error.Message);
    }

    [Fact]
    public void FromBytes_refuses_null() => Assert.Throws<ArgumentNullException>(() => InvitationSecret.FromBytes(null!));

    [Fact]
    public void The_verifier_is_the_SHA256_of_the_secret_and_shows_none_of_it()
    {
        var secret = InvitationSecret.New();
        var verifier = secret.ComputeVerifier();

        Assert.StartsWith("sha256:", verifier);
        Assert.Equal(SHA256.HashData(secret.ToArray()), Convert.FromBase64String(verifier["sha256:".Length..]));
        Assert.Equal(verifier, InvitationSecret.FromBytes(secret.ToArray()).ComputeVerifier());
        AssertDoesNotShow(secret, verifier);
    }

    [Fact]
    public void Matches_its_own_verifier_only()
    {
        var secret = InvitationSecret.New();
        var verifier = secret.ComputeVerifier();

        Assert.True(secret.Matches(verifier));
        Assert.True(InvitationSecret.FromBytes(secret.ToArray()).Matches(verifier));
        Assert.False(InvitationSecret.New().Matches(verifier));

        var oneCharacterOff = verifier[..^2] + (verifier[^2] == 'A' ? 'B' : 'A') + verifier[^1];
        Assert.False(secret.Matches(oneCharacterOff));
        Assert.False(secret.Matches(verifier.ToLowerInvariant()));
        Assert.False(secret.Matches(verifier + " "));
        Assert.False(secret.Matches("sha512:" + verifier["sha256:".Length..]));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("sha256:")]
    [InlineData("sha256:not base64 at all!!")]
    [InlineData("sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")]
    [InlineData("\0\0\0")]
    public void Matches_is_false_for_anything_that_is_not_its_verifier(string? verifier) =>
        Assert.False(InvitationSecret.New().Matches(verifier!));

    [Fact]
    public void DeriveKey_is_deterministic_and_separates_purposes_connections_and_secrets()
    {
        var secret = InvitationSecret.New();
        var key = secret.DeriveKey("peer-token", ConnectionId);

        Assert.Equal(32, key.Length);
        Assert.Equal(key, secret.DeriveKey("peer-token", ConnectionId));
        Assert.Equal(key, InvitationSecret.FromBytes(secret.ToArray()).DeriveKey("peer-token", ConnectionId));
        Assert.NotEqual(key, secret.DeriveKey("peer-token-2", ConnectionId));
        Assert.NotEqual(key, secret.DeriveKey("ct-invitation-tag", ConnectionId));
        Assert.NotEqual(key, secret.DeriveKey("peer-token", Guid.NewGuid()));
        Assert.NotEqual(key, InvitationSecret.New().DeriveKey("peer-token", ConnectionId));
    }

    [Fact]
    public void DeriveKey_is_HKDF_with_the_connection_id_as_salt_and_the_purpose_as_info()
    {
        var secret = InvitationSecret.New();
        var expected = Hkdf.DeriveKey(secret.ToArray(), ConnectionId.ToByteArray(), Encoding.UTF8.GetBytes("peer-token"), 42);
        Assert.Equal(expected, secret.DeriveKey("peer-token", ConnectionId, 42));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(64)]
    [InlineData(255 * 32)]
    public void DeriveKey_gives_the_length_asked_for(int length)
    {
        var secret = InvitationSecret.New();
        var key = secret.DeriveKey("k", ConnectionId, length);
        Assert.Equal(length, key.Length);
        Assert.Equal(secret.DeriveKey("k", ConnectionId, 80)[..Math.Min(length, 80)], key[..Math.Min(length, 80)]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(255 * 32 + 1)]
    public void DeriveKey_refuses_lengths_HKDF_cannot_give(int length) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => InvitationSecret.New().DeriveKey("k", ConnectionId, length));

    // RFC 5869, appendix A.
    [Theory]
    [InlineData(
        "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        "000102030405060708090a0b0c",
        "f0f1f2f3f4f5f6f7f8f9",
        42,
        "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")]
    [InlineData(
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
        "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        82,
        "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
        "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87")]
    [InlineData(
        "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b",
        "",
        "",
        42,
        "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
        "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")]
    public void Hkdf_matches_the_RFC_5869_test_vectors(string ikm, string salt, string info, int length, string prk, string okm)
    {
        Assert.Equal(prk, Convert.ToHexString(Hkdf.Extract(Convert.FromHexString(ikm), Convert.FromHexString(salt))).ToLowerInvariant());
        Assert.Equal(okm, Convert.ToHexString(Hkdf.DeriveKey(Convert.FromHexString(ikm), Convert.FromHexString(salt), Convert.FromHexString(info), length)).ToLowerInvariant());
    }

    [Fact]
    public void ToString_never_shows_the_secret()
    {
        var secret = InvitationSecret.New();
        Assert.Equal("(secret)", secret.ToString());
        Assert.Equal("key: (secret)", $"key: {secret}");
        AssertDoesNotShow(secret, secret.ToString());
    }
}

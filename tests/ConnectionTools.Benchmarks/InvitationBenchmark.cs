using System.Diagnostics;
using System.Globalization;
using ConnectionTools.Invitations;

/// <summary>Figures for the invitation codec: how long a code takes to write and read, and how long it is.</summary>
public static class InvitationBenchmark
{
    private const int Iterations = 100_000;

    public static void Run()
    {
        var typical = Create("crm-eu-prod", "https://node.example.com");
        var longUrl = "https://node.example.com/" + new string('p', 200 - "https://node.example.com/".Length);
        var worst = Create(new string('n', 128), longUrl);

        // Three UTF-8 bytes per character: the longest name ConnectionNames allows, in bytes.
        var worstNonAscii = Create(new string('名', 128), longUrl);

        // Warm up, so the figures are for jitted code.
        for (var i = 0; i < 1_000; i++)
        {
            InvitationCodec.Decode(InvitationCodec.Encode(typical));
        }

        var ticks = new long[Iterations];
        for (var i = 0; i < Iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            InvitationCodec.Decode(InvitationCodec.Encode(typical));
            ticks[i] = Stopwatch.GetTimestamp() - start;
        }

        Array.Sort(ticks);
        string Microseconds(long t) => (t * 1_000_000.0 / Stopwatch.Frequency).ToString("0.0", CultureInfo.InvariantCulture);
        Console.WriteLine($"Invitation Encode+Decode, {Iterations:N0} runs: median {Microseconds(ticks[Iterations / 2])} µs, p99 {Microseconds(ticks[Iterations * 99 / 100])} µs, min {Microseconds(ticks[0])} µs (target: under 100 µs)");

        var typicalCode = InvitationCodec.Encode(typical);
        var worstCode = InvitationCodec.Encode(worst);
        Console.WriteLine($"  typical code (name 'crm-eu-prod', URL {typical.PublicNodeUrl}): {typicalCode.Length} characters (target: under 600)");
        Console.WriteLine($"  worst-case code (128-character name, 200-character URL): {worstCode.Length} characters");
        Console.WriteLine($"  the same with a 128-character CJK name (384 bytes of UTF-8): {InvitationCodec.Encode(worstNonAscii).Length} characters");
    }

    private static Invitation Create(string name, string url) => new(
        Guid.NewGuid(),
        name,
        PrivateConnectionMode.Basic,
        new Uri(url),
        Guid.NewGuid(),
        "0.1.0",
        "contoso-public-node-01",
        DateTimeOffset.UtcNow.AddDays(7),
        InvitationSecret.New());
}

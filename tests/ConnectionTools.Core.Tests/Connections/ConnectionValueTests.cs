using System.Reflection;
using ConnectionTools.Authorization;
using ConnectionTools.Connections;
using ConnectionTools.Invitations;

namespace ConnectionTools.Core.Tests;

/// <summary>
/// Connection is a class with value equality (the store skips writes whose proposed row equals the stored one). A property added
/// without a line in Equals would make such a change vanish silently; these tests catch it.
/// </summary>
public class ConnectionValueTests
{
    private static readonly PropertyInfo[] Stored = typeof(Connection)
        .GetProperties(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
        .Where(p => p.SetMethod is not null)
        .ToArray();

    private static Connection Sample() => new()
    {
        Id = Guid.NewGuid(),
        Name = "crm",
        Description = "d",
        Type = ConnectionType.Private,
        Status = ConnectionStatus.Active,
        CreatedAt = DateTimeOffset.UnixEpoch,
        ModifiedAt = DateTimeOffset.UnixEpoch,
        Mode = PrivateConnectionMode.Basic,
        PeerUri = new Uri("https://peer.example/"),
        InstanceUri = new Uri("https://contoso.my.salesforce.com/"),
        Version = 3,
    };

    public static TheoryData<string> StoredProperties() => new(Stored.Select(p => p.Name));

    [Theory]
    [MemberData(nameof(StoredProperties))]
    public void A_copy_that_differs_in_one_property_is_not_equal(string name)
    {
        var property = Stored.Single(p => p.Name == name);
        var original = Sample();
        var changed = original.With(c => property.SetValue(c, Different(property.PropertyType, property.GetValue(c))));

        Assert.NotEqual(original, changed);
        Assert.False(original == changed);
    }

    [Fact]
    public void With_copies_and_leaves_the_original_as_it_was()
    {
        var original = Sample();
        var copy = original.With(c => c.Status = ConnectionStatus.Paused);

        Assert.Equal(ConnectionStatus.Active, original.Status);
        Assert.Equal(ConnectionStatus.Paused, copy.Status);
        Assert.Equal(original, original.With(_ => { }));
        Assert.Equal(original.GetHashCode(), original.With(_ => { }).GetHashCode());
    }

    [Fact]
    public void Urls_are_strings_and_the_string_of_a_connection_is_its_name()
    {
        var connection = Sample();

        Assert.Equal("https://peer.example/", connection.PeerUrl);
        Assert.Equal("https://contoso.my.salesforce.com/", connection.InstanceUrl);
        Assert.Equal("crm", connection.ToString());
        Assert.All(typeof(Connection).GetProperties(), p => Assert.False(p.SetMethod?.IsPublic ?? false, p.Name));
    }

    private static object Different(Type type, object? value)
    {
        var underlying = Nullable.GetUnderlyingType(type) ?? type;
        if (underlying == typeof(string)) return value + "x";
        if (underlying == typeof(Guid)) return Guid.NewGuid();
        if (underlying == typeof(long)) return (long)(value ?? 0L) + 1;
        if (underlying == typeof(DateTimeOffset)) return ((DateTimeOffset?)value ?? DateTimeOffset.UnixEpoch).AddSeconds(1);
        if (underlying == typeof(TimeSpan)) return ((TimeSpan?)value ?? TimeSpan.Zero) + TimeSpan.FromSeconds(1);
        if (underlying == typeof(Uri)) return new Uri("https://other.example/");
        if (underlying.IsEnum)
        {
            var values = Enum.GetValues(underlying);
            foreach (var candidate in values)
            {
                if (!candidate.Equals(value)) return candidate;
            }
        }

        throw new InvalidOperationException($"No different value for {type}: add one here.");
    }
}

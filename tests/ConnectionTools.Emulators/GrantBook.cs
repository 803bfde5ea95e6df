namespace ConnectionTools.Emulators;

/// <summary>What every emulated grant has: the user it was issued for, and whether it was revoked.</summary>
internal interface IEmulatorGrant
{
    string? Username { get; }

    bool Revoked { get; set; }
}

/// <summary>
/// The grants an emulator issued, found by refresh token or by access token. Not thread-safe on its own:
/// callers hold the emulator's state lock.
/// </summary>
internal sealed class GrantBook<TGrant, TAccess>(Func<TAccess, TGrant> grantOf)
    where TGrant : class, IEmulatorGrant
{
    public Dictionary<string, TGrant> RefreshTokens { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, TAccess> AccessTokens { get; } = new(StringComparer.Ordinal);

    public TGrant? FindGrant(string token) =>
        RefreshTokens.TryGetValue(token, out var grant) ? grant : AccessTokens.TryGetValue(token, out var access) ? grantOf(access) : null;

    public List<TGrant> AllGrants() => RefreshTokens.Values.Concat(AccessTokens.Values.Select(grantOf)).Distinct().ToList();

    /// <summary>Revokes the grant holding this refresh or access token; false when no grant holds it.</summary>
    public bool Revoke(string token)
    {
        var grant = FindGrant(token);
        if (grant is null)
        {
            return false;
        }

        grant.Revoked = true;
        return true;
    }

    public int RevokeForUser(string username)
    {
        var grants = AllGrants().Where(g => string.Equals(g.Username, username, StringComparison.OrdinalIgnoreCase)).ToList();
        grants.ForEach(g => g.Revoked = true);
        return grants.Count;
    }
}

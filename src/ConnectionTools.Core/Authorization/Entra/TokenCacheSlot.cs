using System;
using Microsoft.Identity.Client;

namespace ConnectionTools.Authorization.Entra
{
    /// <summary>
    /// The MSAL user token cache of one call: seeded from the stored grant before MSAL reads it, captured after MSAL wrote it.
    /// Each call builds its own PublicClientApplication with its own slot, so parallel calls never share cache state.
    /// The serialized cache holds refresh tokens: it only ever goes into <see cref="GrantMaterial.TokenCache"/>.
    /// </summary>
    internal sealed class TokenCacheSlot
    {
        private readonly object _gate = new object();
        private byte[]? _data;
        private bool _changed;

        public TokenCacheSlot(byte[]? seed)
        {
            _data = seed;
        }

        public static TokenCacheSlot FromGrant(string? base64)
        {
            if (string.IsNullOrEmpty(base64))
            {
                return new TokenCacheSlot(null);
            }

            try
            {
                return new TokenCacheSlot(Convert.FromBase64String(base64));
            }
            catch (FormatException)
            {
                // A damaged cache is the same as none: the silent call then finds no account and asks for a new sign-in.
                return new TokenCacheSlot(null);
            }
        }

        /// <summary>Whether MSAL wrote the cache during this call.</summary>
        public bool Changed
        {
            get { lock (_gate) { return _changed; } }
        }

        public void Attach(ITokenCache cache)
        {
            cache.SetBeforeAccess(args =>
            {
                byte[]? data;
                lock (_gate)
                {
                    data = _data;
                }

                args.TokenCache.DeserializeMsalV3(data, shouldClearExistingCache: true);
            });
            cache.SetAfterAccess(args =>
            {
                if (!args.HasStateChanged)
                {
                    return;
                }

                var data = args.TokenCache.SerializeMsalV3();
                lock (_gate)
                {
                    _data = data;
                    _changed = true;
                }
            });
        }

        /// <summary>The cache as stored in the grant (base64), or null when empty.</summary>
        public string? ToBase64()
        {
            lock (_gate)
            {
                return _data is null || _data.Length == 0 ? null : Convert.ToBase64String(_data);
            }
        }
    }
}

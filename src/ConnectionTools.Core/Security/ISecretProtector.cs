namespace ConnectionTools.Security
{
    /// <summary>Encrypts secrets before they reach the store, so the store file never holds them in plain text.</summary>
    public interface ISecretProtector
    {
        /// <summary>A short name for what protects the secrets, shown by Get-ConnectionNode.</summary>
        string Description { get; }

        byte[] Protect(byte[] plain);

        /// <summary>Throws the SecretUnreadable error when the data was not protected by this protector or was changed.</summary>
        byte[] Unprotect(byte[] protectedData);
    }
}

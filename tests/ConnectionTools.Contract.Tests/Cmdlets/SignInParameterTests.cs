using System.Reflection;
using ConnectionTools.PowerShell.Cmdlets;

namespace ConnectionTools.Contract.Tests;

/// <summary>
/// New-Connection and Update-ConnectionAuthorization each declare the sign-in parameters of <see cref="ISignInParameters"/>
/// (PowerShell reads [Parameter] from the cmdlet class only); these tests keep the two declarations identical.
/// </summary>
public class SignInParameterTests
{
    private static readonly IReadOnlyList<PropertyInfo> Shared = typeof(ISignInParameters).GetProperties();

    private static IReadOnlyList<Type> SignInCmdlets => CmdletAssembly.Cmdlets.Where(typeof(ISignInParameters).IsAssignableFrom).ToList();

    public static TheoryData<string> SharedNames()
    {
        var data = new TheoryData<string>();
        foreach (var property in Shared)
        {
            data.Add(property.Name);
        }

        return data;
    }

    [Fact]
    public void New_Connection_and_Update_ConnectionAuthorization_share_the_sign_in_parameters()
    {
        Assert.Equal(new[] { "New-Connection", "Update-ConnectionAuthorization" }, SignInCmdlets.Select(CmdletAssembly.NameOf).OrderBy(n => n, StringComparer.Ordinal));
        Assert.Equal(
            new[] { "CertificatePassword", "CertificatePath", "CertificateThumbprint", "ClientId", "ClientSecret", "Credential", "RedirectPort", "TenantId", "UseDeviceCode", "Username" },
            Shared.Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(SharedNames))]
    public void Each_sign_in_parameter_is_declared_alike_on_both_cmdlets(string name)
    {
        var declarations = SignInCmdlets.Select(cmdlet => (Cmdlet: CmdletAssembly.NameOf(cmdlet), Property: cmdlet.GetProperty(name)!)).ToList();
        Assert.Equal(2, declarations.Count);
        foreach (var (cmdlet, property) in declarations)
        {
            Assert.True(property.PropertyType == Shared.Single(p => p.Name == name).PropertyType, $"{cmdlet} -{name} is a {property.PropertyType.Name}, not the shared type");

            // A sign-in parameter is named, optional and in every parameter set, so it combines with any way of naming the connections.
            var parameter = Assert.Single(CmdletAssembly.Parameters(property.DeclaringType!), p => p.Property.Name == name).Parameter;
            Assert.Equal(new ParameterInfo(false, false, false, null, null), parameter);
        }

        // Every attribute alike: [Parameter] with its arguments, [Credential], [ValidateRange] and any alias or completer.
        var (firstCmdlet, first) = declarations[0];
        var (secondCmdlet, second) = declarations[1];
        Assert.True(Attributes(first).SequenceEqual(Attributes(second)), $"{firstCmdlet} -{name} [{string.Join(", ", Attributes(first))}] differs from {secondCmdlet} -{name} [{string.Join(", ", Attributes(second))}]");
    }

    private static IEnumerable<string> Attributes(PropertyInfo property) =>
        property.CustomAttributes.Where(a => a.AttributeType.Namespace == "System.Management.Automation").Select(a => a.ToString()).OrderBy(a => a, StringComparer.Ordinal);
}

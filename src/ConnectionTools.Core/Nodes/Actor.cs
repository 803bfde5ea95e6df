using System;
using System.Runtime.InteropServices;

namespace ConnectionTools.Nodes
{
    /// <summary>Who is making a change, as recorded in the audit.</summary>
    public static class Actor
    {
        public static string Current()
        {
            var user = Environment.UserName;
            return RuntimeInformation.IsOSPlatform(OSPlatform.Windows) && !string.IsNullOrEmpty(Environment.UserDomainName)
                ? Environment.UserDomainName + "\\" + user
                : user;
        }
    }
}

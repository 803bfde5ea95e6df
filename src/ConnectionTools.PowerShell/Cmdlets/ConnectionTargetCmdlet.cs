using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using ConnectionTools.Connections;
using ConnectionTools.PowerShell.Completion;

namespace ConnectionTools.PowerShell.Cmdlets
{
    /// <summary>
    /// The cmdlets that act on named connections: by -Name (from the pipeline by value or by property name),
    /// by -Id (by property name), or by -InputObject (Get-Connection | ...). A -Name with wildcards stands for every
    /// connection that is not removed and matches (see ConnectionTargets.ForEach).
    /// </summary>
    public abstract class ConnectionTargetCmdlet : ConnectionToolsCmdlet
    {
        internal const string ByName = "ByName";
        internal const string ById = "ById";
        internal const string ByInputObject = "ByInputObject";

        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ByName)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(ConnectionNameCompleter))]
        public string[] Name { get; set; } = Array.Empty<string>();

        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true, ParameterSetName = ById)]
        public Guid[] Id { get; set; } = Array.Empty<Guid>();

        [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByInputObject)]
        [ValidateNotNull]
        public Connection[] InputObject { get; set; } = Array.Empty<Connection>();

        internal IEnumerable<ConnectionTarget> Targets()
        {
            switch (ParameterSetName)
            {
                case ById:
                    return Id.Select(ConnectionTarget.ById);
                case ByInputObject:
                    return InputObject.Select(ConnectionTarget.ByObject);
                default:
                    return Name.Select(ConnectionTarget.ByName);
            }
        }
    }
}

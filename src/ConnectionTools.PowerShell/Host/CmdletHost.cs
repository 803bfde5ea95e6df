using System.Management.Automation;
using System.Threading;
using ConnectionTools.Errors;
using ConnectionTools.Hosting;

namespace ConnectionTools.PowerShell.Host
{
    /// <summary>Core's view of the running cmdlet. Called only on the pipeline thread.</summary>
    internal sealed class CmdletHost : IHostContext, IHighImpactConfirmation, IChoicePrompt
    {
        private readonly PSCmdlet _cmdlet;

        public CmdletHost(PSCmdlet cmdlet, CancellationToken cancellationToken)
        {
            _cmdlet = cmdlet;
            CancellationToken = cancellationToken;
        }

        public CancellationToken CancellationToken { get; }

        public void WriteObject(object value) => _cmdlet.WriteObject(value);

        public void WriteError(ConnectionToolsException error) => _cmdlet.WriteError(ErrorMapper.ToRecord(error));

        public void WriteWarning(string message) => _cmdlet.WriteWarning(message);

        public void WriteVerbose(string message) => _cmdlet.WriteVerbose(message);

        public void WriteProgress(ProgressInfo progress) => _cmdlet.WriteProgress(new ProgressRecord(progress.ActivityId, progress.Activity, progress.Status)
        {
            PercentComplete = progress.PercentComplete,
            RecordType = progress.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
        });

        public bool ShouldProcess(string target, string action) => _cmdlet.ShouldProcess(target, action);

        /// <summary>PowerShell's own choice prompt (Host.UI.PromptForChoice), as Read-Host and -Confirm use it.</summary>
        public int PromptForChoice(string caption, string message, System.Collections.Generic.IReadOnlyList<System.Collections.Generic.KeyValuePair<string, string>> choices, int defaultChoice)
        {
            var descriptions = new System.Collections.ObjectModel.Collection<System.Management.Automation.Host.ChoiceDescription>();
            foreach (var choice in choices)
            {
                descriptions.Add(new System.Management.Automation.Host.ChoiceDescription(choice.Key, choice.Value));
            }

            return _cmdlet.Host.UI.PromptForChoice(caption, message, descriptions, defaultChoice);
        }

        /// <summary>
        /// ShouldProcess first (-WhatIf; -Confirm prompts there). Unless -Confirm was given either way, then asks as a
        /// ConfirmImpact High cmdlet would: when $ConfirmPreference is High or lower (the default is High), so that
        /// -Confirm:$false or $ConfirmPreference = 'None' runs it without a prompt, and a non-interactive session fails to prompt.
        /// </summary>
        public bool ShouldProcessHighImpact(string target, string action)
        {
            if (!_cmdlet.ShouldProcess(target, action))
            {
                return false;
            }

            if (_cmdlet.MyInvocation.BoundParameters.ContainsKey("Confirm"))
            {
                return true;
            }

            var preference = _cmdlet.GetVariableValue("ConfirmPreference") switch
            {
                ConfirmImpact value => value,
                string text when System.Enum.TryParse(text, true, out ConfirmImpact parsed) => parsed,
                _ => ConfirmImpact.High,
            };
            if (preference == ConfirmImpact.None)
            {
                return true;
            }

            return _cmdlet.ShouldContinue($"Performing the operation \"{action}\" on target \"{target}\".", "Are you sure you want to perform this action?");
        }
    }
}

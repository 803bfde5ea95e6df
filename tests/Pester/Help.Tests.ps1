#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Get-Help as an admin reads it, from the built module's MAML: plain text, never Markdown.
#>

Describe 'Help' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')

        # A Markdown code span, `like this`, on one line of help text.
        $codeSpan = '`[A-Za-z$\-][^`\r\n]*`'
    }

    AfterAll {
        Close-TestSession
    }

    It 'shows inline code in <Command> as plain text, in its description, parameters and example remarks' -TestCases @(
        @{ Command = 'New-Connection' }
        @{ Command = 'Invoke-ConnectionConfiguration' }
        @{ Command = 'Test-ConnectionAuthorization' }
    ) {
        $help = Get-Help -Name $Command -Full
        $remarks = @($help.examples.example | ForEach-Object { $_.remarks.Text }) -join "`n"
        $description = @($help.description.Text) -join "`n"
        $parameters = @($help.parameters.parameter | ForEach-Object { $_.description.Text }) -join "`n"
        $remarks | Should -Not -BeNullOrEmpty
        $remarks | Should -Not -Match $codeSpan
        $description | Should -Not -Match $codeSpan
        $parameters | Should -Not -Match $codeSpan
    }

    It 'keeps the code of examples as it is written' {
        $code = @((Get-Help -Name New-Connection -Full).examples.example | ForEach-Object { $_.code }) -join "`n"
        $code | Should -Match 'New-Connection'
    }

    It 'has no Markdown code span in any text of any command' {
        $found = foreach ($command in Get-Command -Module ConnectionTools -CommandType Cmdlet) {
            $text = Get-Help -Name $command.Name -Full | Out-String -Width 250
            # Example code is written as code; the rest is prose.
            $code = @((Get-Help -Name $command.Name -Full).examples.example | ForEach-Object { $_.code -split "`n" })
            foreach ($line in $text -split "`n") {
                if ($line -match $codeSpan -and -not ($code | Where-Object { $_.Trim() -and $line.Contains($_.Trim()) })) {
                    "$($command.Name): $($line.Trim())"
                }
            }
        }
        $found | Should -BeNullOrEmpty
    }
}

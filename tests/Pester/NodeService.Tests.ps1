#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    New-ConnectionNodeService on Linux: the systemd unit it writes passes systemd-analyze verify, -WhatIf shows the unit and
    writes nothing, and an account that does not own the store is refused with the reason.
#>

Describe 'The node host as a systemd service' -Skip:(-not $IsLinux) {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')
        $store = Join-Path $TestDrive 'service/store.db'
        $null = Connect-ConnectionNode -StorePath $store -Create
        $systemdAnalyze = Get-Command -Name 'systemd-analyze' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
        # The account the store belongs to: whoever runs the suite (root in CI).
        $owner = [Environment]::UserName
    }

    AfterAll {
        Close-TestSession
    }

    It 'writes a unit that systemd-analyze verify accepts, running the host from the module as the store''s owner' {
        if ($null -eq $systemdAnalyze) {
            Set-ItResult -Skipped -Because 'systemd-analyze is not installed (.ci/run installs the systemd package when it can)'
            return
        }
        $unitPath = Join-Path $TestDrive 'connectiontools-node-test.service'
        $port = Get-FreeLoopbackPort
        $definition = New-ConnectionNodeService -Name 'connectiontools-node-test' -Port $port -PublicUrl "http://127.0.0.1:$port/" -Path $unitPath
        $definition.Platform | Should -Be 'systemd'
        $definition.Account | Should -Be $owner
        $definition.Path | Should -Be $unitPath
        $unit = Get-Content -LiteralPath $unitPath -Raw
        $unit | Should -Match '(?m)^Type=notify$'
        $unit | Should -Match "(?m)^User=$([regex]::Escape($owner))$"
        $unit | Should -Match "(?m)^ExecStart=.*ConnectionTools\.Node\.dll --store $([regex]::Escape($store)) --public-url http://127\.0\.0\.1:$port/ --urls http://127\.0\.0\.1:$port$"
        $unit | Should -Match ([regex]::Escape((Join-Path $moduleFolder 'node')))

        $verify = & $systemdAnalyze.Source verify $unitPath 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($verify -join "`n")
        # verify reports problems of the unit file by its name; other units on the machine may have their own.
        @($verify | Where-Object { "$_" -like '*connectiontools-node-test*' }) | Should -BeNullOrEmpty
    }

    It '-WhatIf shows the unit it would write, and writes nothing' {
        $unitPath = Join-Path $TestDrive 'whatif.service'
        $script = "`$PSStyle.OutputRendering = 'PlainText'; Import-Module '$($manifestPath.Replace("'", "''"))'; `$null = Connect-ConnectionNode -StorePath '$($store.Replace("'", "''"))'; New-ConnectionNodeService -Name whatif -Port 25999 -Path '$($unitPath.Replace("'", "''"))' -WhatIf"
        $output = & $pwshPath -NoProfile -NonInteractive -Command $script 2>&1
        $text = $output -join "`n"
        $LASTEXITCODE | Should -Be 0 -Because $text
        $text | Should -Match 'What if: Performing the operation "Write the systemd definition'
        $text | Should -Match 'ExecStart=.*--urls http://127\.0\.0\.1:25999'
        Test-Path -LiteralPath $unitPath | Should -BeFalse
    }

    It 'refuses an account that does not own the store, with the reason, and writes nothing' {
        $other = @('nobody', 'daemon') | Where-Object { $_ -ne $owner -and (& id -u $_ 2>$null) } | Select-Object -First 1
        if ($null -eq $other) {
            Set-ItResult -Skipped -Because 'this computer has neither a nobody nor a daemon account to try'
            return
        }
        $unitPath = Join-Path $TestDrive 'denied.service'
        $failure = { New-ConnectionNodeService -Account $other -Path $unitPath -ErrorAction Stop } | Should -Throw -ErrorId 'ConnectionTools.NodeService.AccountDenied,*' -PassThru
        "$failure" | Should -Match "belongs to $([regex]::Escape($owner))"
        "$failure" | Should -Match 'encrypted with a key only the owner can read'
        Test-Path -LiteralPath $unitPath | Should -BeFalse
    }

    It 'refuses an account that does not exist' {
        { New-ConnectionNodeService -Account 'no-such-account-ct18' -Path (Join-Path $TestDrive 'unknown.service') -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConnectionTools.NodeService.UnknownAccount,*'
    }
}

#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    The gallery package as an admin meets it: the built module published with PSResourceGet to a temporary local repository,
    installed from there with Install-PSResource into a temporary user folder, imported BY NAME in a fresh pwsh, and used: the
    node host started from the cmdlet in public mode, a private connection created and accepted by a second store through it,
    the host stopped, and both stores checked (PRAGMA integrity_check) with the accept kept.

    Every child pwsh gets a HOME in TestDrive (and no XDG_* variables), so PSResourceGet's repository list and the
    user's module folder are temporary and this machine's are never touched (the install stops first if they are not). Linux and macOS only: on Windows the user's module
    folder is under Documents, which no variable moves.
#>

Describe 'The gallery package' -Skip:$IsWindows {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')

        $userData = Join-Path $TestDrive 'user-data'
        $repositoryFolder = Join-Path $TestDrive 'repository'
        $work = Join-Path $TestDrive 'work'
        foreach ($folder in $userData, $repositoryFolder, $work) { $null = New-Item -ItemType Directory -Path $folder }
        # .NET's GetFolderPath answers '' for a folder that does not exist, and NuGet (under Publish-PSResource) then writes its
        # NuGet/NuGet.Config relative to the working directory: make HOME's usual folders, and work in TestDrive.
        foreach ($folder in '.config', '.local/share', '.cache') { $null = New-Item -ItemType Directory -Path (Join-Path $userData $folder) -Force }

        function Invoke-ChildPwsh {
            # Runs $Script in a fresh pwsh whose user data (PSResourceGet's settings, the CurrentUser module folder) is under
            # TestDrive and whose PSModulePath is pwsh's default for that. Returns Output, ExitCode and Result (the last RESULT: line).
            param([Parameter(Mandatory)] [string] $Script, [int] $TimeoutSeconds = 300)
            $start = [System.Diagnostics.ProcessStartInfo]::new($pwshPath)
            $encoded = [Convert]::ToBase64String([System.Text.Encoding]::Unicode.GetBytes("`$ErrorActionPreference = 'Stop'; `$ProgressPreference = 'SilentlyContinue'; `$PSStyle.OutputRendering = 'PlainText'`n$Script"))
            foreach ($argument in '-NoProfile', '-NonInteractive', '-OutputFormat', 'Text', '-EncodedCommand', $encoded) { $start.ArgumentList.Add($argument) }
            $start.UseShellExecute = $false
            $start.WorkingDirectory = $work
            $start.RedirectStandardOutput = $true
            $start.RedirectStandardError = $true
            $start.RedirectStandardInput = $true
            # HOME, not XDG_DATA_HOME alone: PSResourceGet puts CurrentUser modules under HOME, and pwsh looks there too when
            # XDG_DATA_HOME is not set.
            Set-StartEnvironment -Start $start -Environment @{
                HOME = $userData; XDG_DATA_HOME = $null; XDG_CONFIG_HOME = $null; XDG_CACHE_HOME = $null; PSModulePath = $null; CONNECTIONTOOLS_STORE = $null
            }
            Invoke-ChildProcess -Start $start -TimeoutSeconds $TimeoutSeconds
        }

        # Published and installed once, for the tests below.
        $install = Invoke-ChildPwsh -Script @"
# Never into this machine's own module folder: stop unless the CurrentUser folder is the temporary one.
`$folders = @([Environment]::GetFolderPath('UserProfile'), [Environment]::GetFolderPath('LocalApplicationData'), (`$env:PSModulePath -split [IO.Path]::PathSeparator)[0])
if (@(`$folders | Where-Object { -not `$_.StartsWith('$userData') }).Count -gt 0) { throw "the user's folders are not under TestDrive: `$(`$folders -join ', ')" }
Register-PSResourceRepository -Name 'ConnectionToolsTest' -Uri '$repositoryFolder' -Trusted
Publish-PSResource -Path '$moduleFolder' -Repository 'ConnectionToolsTest'
Install-PSResource -Name 'ConnectionTools' -Repository 'ConnectionToolsTest' -Scope CurrentUser -TrustRepository
`$installed = Get-InstalledPSResource -Name 'ConnectionTools' -Scope CurrentUser
'RESULT:' + (@{ Version = `$installed.Version.ToString(); Path = `$installed.InstalledLocation; Packages = @(Get-ChildItem '$repositoryFolder' -Filter *.nupkg | ForEach-Object Name) } | ConvertTo-Json -Compress)
"@
    }

    AfterAll {
        Close-TestSession
    }

    It 'publishes to a local repository and installs from it into the user''s module folder' {
        $install.ExitCode | Should -Be 0 -Because $install.Output
        $install.Result.Version | Should -Be $module.Version.ToString()
        $install.Result.Packages | Should -Be "ConnectionTools.$($module.Version).nupkg"
        $install.Result.Path | Should -BeLike "$userData*"
    }

    It 'imports by name in a fresh pwsh, runs the node host from the cmdlet, and a private connection is accepted through it with both stores intact' {
        $port = Get-FreeLoopbackPort
        $publicStore = Join-Path $work 'public/store.db'
        $privateStore = Join-Path $work 'private/store.db'
        $run = Invoke-ChildPwsh -Script @"
Import-Module -Name ConnectionTools
`$imported = Get-Module -Name ConnectionTools
`$null = Connect-ConnectionNode -StorePath '$publicStore' -Create
`$nodeHost = Start-ConnectionNodeHost -Port $port -PublicUrl 'http://127.0.0.1:$port/' -Background
try {
    `$invitation = New-PrivateConnection -Name 'crm-eu' -LocalInstanceName 'contoso-public'
    `$null = Connect-ConnectionNode -StorePath '$privateStore' -Create
    `$accepted = `$invitation.InvitationCode | Approve-ConnectionInvitation -LocalInstanceName 'fabrikam-private'
}
finally {
    `$nodeHost | Stop-ConnectionNodeHost
}
`$null = Connect-ConnectionNode -StorePath '$publicStore'
`$public = @{ Integrity = (Get-ConnectionNode -Check).Integrity; Status = (Get-Connection -Name 'crm-eu').Status.ToString() }
`$null = Connect-ConnectionNode -StorePath '$privateStore'
`$private = @{ Integrity = (Get-ConnectionNode -Check).Integrity; Status = (Get-Connection -Name 'crm-eu').Status.ToString() }
'RESULT:' + (@{
    ModuleBase = `$imported.ModuleBase; ReleaseNotes = `$imported.ReleaseNotes; Accepted = `$accepted.Status.ToString()
    HostRunning = `$nodeHost.Running; HostLog = (Get-Content -LiteralPath `$nodeHost.LogPath -Raw); Public = `$public; Private = `$private
} | ConvertTo-Json -Compress)
"@
        $run.ExitCode | Should -Be 0 -Because $run.Output
        $run.Result.ModuleBase | Should -BeLike "$userData*"
        $run.Result.ReleaseNotes | Should -Not -BeNullOrEmpty
        $run.Result.Accepted | Should -Be 'Active'
        $run.Result.HostRunning | Should -BeFalse
        $run.Result.HostLog | Should -Match 'POST /connectiontools/v1/invitations/accept -> 200'
        $run.Result.HostLog | Should -Match 'Application is shutting down'
        $run.Result.Public.Integrity | Should -Be 'ok'
        $run.Result.Public.Status | Should -Be 'Active'
        $run.Result.Private.Integrity | Should -Be 'ok'
        $run.Result.Private.Status | Should -Be 'Active'
    }
}

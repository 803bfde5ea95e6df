#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Copy-ConnectionStore through the built module, as an admin moves a node: from a SQLite file into a PostgreSQL database on the
    test server (build.ps1 starts it; see PostgresSession.ps1), then back into a new file, each copy connected to and read the
    way the original was. The invitation code is a secret kept encrypted: it must read the same through each copy's own key.
#>

Describe 'Moving a node between engines with Copy-ConnectionStore' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'TestSession.ps1')
        . (Join-Path $PSScriptRoot 'PostgresSession.ps1')

        $source = Join-Path $TestDrive 'source/store.db'
        $back = Join-Path $TestDrive 'back/store.db'
        $database = New-TestDatabase
        $uri = Get-PostgresUri -Database $database
        $keyFile = Join-Path $TestDrive 'pg.key'

        $node = Connect-ConnectionNode -StorePath $source -Create
        $null = Set-ConnectionNode -PublicUrl 'http://127.0.0.1:5099/'
        $code = (New-PrivateConnection -Name 'move-eu' -LocalInstanceName 'contoso').InvitationCode
        $null = New-PrivateConnection -Name 'move-us' -LocalInstanceName 'contoso'
        Suspend-Connection -Name 'move-us'
        Remove-Connection -Name 'move-us' -Confirm:$false
        $history = @(Get-ConnectionHistory -Name 'move-us').Count
    }

    AfterAll {
        Close-TestSession
        Remove-TestDatabases
    }

    It 'copies the file into PostgreSQL, verified table by table, and leaves the source as it was' {
        $result = Copy-ConnectionStore -DestinationConnectionString $uri -DestinationKeyFile $keyFile -Confirm:$false
        $result.SourceEngine | Should -Be 'SQLite'
        $result.DestinationEngine | Should -Be 'PostgreSQL'
        $result.NodeId | Should -Be $node.NodeId
        $result.TotalRows | Should -BeGreaterThan 0
        @($result.Tables | Where-Object Table -EQ 'connections').Rows | Should -Be 2
        $result.SecretsReencrypted | Should -BeGreaterThan 0
        ($result | Format-Table | Out-String -Width 80) | Should -Match 'SQLite\s+PostgreSQL'
        (Get-ConnectionNode).Engine | Should -Be 'SQLite'
        @(Get-Connection -Name 'move-*' -IncludeRemoved).Count | Should -Be 2
    }

    It 'the copy is the same node: its connections, history and invitation code, read through its own key' {
        $copy = Connect-ConnectionNode -ConnectionString $uri -KeyFile $keyFile
        $copy.Engine | Should -Be 'PostgreSQL'
        $copy.NodeId | Should -Be $node.NodeId
        (Get-Connection -Name 'move-eu').Status | Should -Be 'Pending'
        @(Get-ConnectionHistory -Name 'move-us').Count | Should -Be $history
        (Get-InvitationCode -Name 'move-eu').InvitationCode | Should -Be $code
    }

    It 'copies back into a new file, and a second copy into the same database is refused' {
        $result = Copy-ConnectionStore -DestinationPath $back -Confirm:$false
        $result.DestinationEngine | Should -Be 'SQLite'
        $null = Connect-ConnectionNode -StorePath $back
        (Get-InvitationCode -Name 'move-eu').InvitationCode | Should -Be $code

        $null = Connect-ConnectionNode -StorePath $source
        { Copy-ConnectionStore -DestinationConnectionString $uri -DestinationKeyFile $keyFile -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'ConnectionTools.StoreCopy.TargetNotEmpty*'
    }
}

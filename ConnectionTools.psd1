@{
    RootModule           = 'ConnectionTools.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0d2a4e-5c1b-4e8e-9a57-2b1f3c9d7e41'
    Author               = 'ConnectionTools'
    CompanyName          = 'ConnectionTools'
    Copyright            = '(c) ConnectionTools. All rights reserved.'
    Description          = 'Create and run integration connections (Salesforce, Dynamics 365, private peer connections) from PowerShell.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FormatsToProcess     = @('ConnectionTools.format.ps1xml')
    CmdletsToExport      = @(
        'Approve-ConnectionInvitation'
        'Connect-ConnectionNode'
        'Export-ConnectionConfiguration'
        'Get-Connection'
        'Get-ConnectionHistory'
        'Get-ConnectionJob'
        'Get-ConnectionNode'
        'Get-ConnectionSyncRule'
        'Get-InvitationCode'
        'Initialize-ConnectionSync'
        'Invoke-ConnectionConfiguration'
        'New-Connection'
        'New-PrivateConnection'
        'Remove-Connection'
        'Resume-Connection'
        'Set-Connection'
        'Set-ConnectionNode'
        'Set-ConnectionSyncRule'
        'Start-ConnectionJob'
        'Suspend-Connection'
        'Sync-Connection'
        'Test-ConnectionAuthorization'
        'Test-ConnectionConfiguration'
        'Update-ConnectionAuthorization'
        # Case sync: the admin cmdlets for sync events
        'Get-ConnectionSyncEvent'
        'Get-ConnectionSyncError'
        'Repair-ConnectionSyncEvent'
        'Remove-ConnectionSyncEvent'
        'Test-ConnectionSync'
        # Sign in first, then choose the environment: list the Dynamics 365 environments a sign-in reaches
        'Find-ConnectionEnvironment'
        # Running the node host: foreground, background and as a service, issue 18
        'Start-ConnectionNodeHost'
        'Stop-ConnectionNodeHost'
        'New-ConnectionNodeService'
        # Moving a node between store engines, SQLite file and PostgreSQL database: issue 20
        'Copy-ConnectionStore'
    )
    AliasesToExport      = @('Accept-ConnectionInvitation', 'Retry-ConnectionSyncEvent')
    FunctionsToExport    = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('Connections', 'Integration', 'Salesforce', 'Dynamics365', 'PSEdition_Desktop', 'PSEdition_Core')
            # No ProjectUri or LicenseUri: a gallery shows only URIs that exist (an empty one makes Publish-PSResource fail).
            # ReleaseNotes: build.ps1 writes the CHANGELOG.md section of ModuleVersion into the built manifest.
        }
    }
}

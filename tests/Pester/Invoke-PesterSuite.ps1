<#
.SYNOPSIS
    Runs the Pester suite with the repository's Pester, and writes its totals for build.ps1.

.DESCRIPTION
    build.ps1 -Task Test (or -Task Pester) lays Pester out in out/pester and starts this script in a fresh pwsh:
        pwsh -NoProfile -NonInteractive -File tests/Pester/Invoke-PesterSuite.ps1 -PesterRoot out/pester -PesterVersion 5.7.1 ...
    It prepends PesterRoot to PSModulePath for this process only (replacing the variable would hide the modules Pester
    needs), imports Pester by its exact version, and refuses to run with any other copy, say one installed by hand.
    The output is plain text when it goes to a file or a pipe (a CI log): no ANSI colours, no CLIXML. After the run it lists
    every failure with its name, file:line and message, and writes Passed, Failed, Skipped and the failures as JSON to
    SummaryPath. Failed counts failed tests, plus each file that could not run and each block (BeforeAll/AfterAll)
    that failed outside any failed test. The exit code is 0 when nothing failed and 1 otherwise.
#>
[CmdletBinding()]
param(
    # The folder that holds Pester/<version>/ (out/pester).
    [Parameter(Mandatory = $true)] [string] $PesterRoot,
    [Parameter(Mandatory = $true)] [string] $PesterVersion,
    # The tests: a folder or files.
    [Parameter(Mandatory = $true)] [string[]] $Path,
    # NUnit XML results.
    [Parameter(Mandatory = $true)] [string] $ResultPath,
    # The totals and failures, as JSON.
    [Parameter(Mandatory = $true)] [string] $SummaryPath
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$plainText = [Console]::IsOutputRedirected
if ($plainText) {
    $PSStyle.OutputRendering = 'PlainText'
}

$PesterRoot = [System.IO.Path]::GetFullPath($PesterRoot)
$env:PSModulePath = $PesterRoot + [System.IO.Path]::PathSeparator + $env:PSModulePath
$pester = Import-Module -Name Pester -RequiredVersion $PesterVersion -PassThru
$expectedBase = Join-Path (Join-Path $PesterRoot 'Pester') $PesterVersion
if ([System.IO.Path]::GetFullPath($pester.ModuleBase).TrimEnd('\', '/') -ne $expectedBase.TrimEnd('\', '/')) {
    throw "Pester $PesterVersion was imported from '$($pester.ModuleBase)', not from the repository's copy '$expectedBase'."
}
Write-Host "Pester $($pester.Version) from $($pester.ModuleBase)"

$configuration = New-PesterConfiguration
$configuration.Run.Path = $Path
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
if ($plainText) {
    $configuration.Output.RenderMode = 'Plaintext'
}
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'NUnitXml'
$configuration.TestResult.OutputPath = $ResultPath

function Get-RepositoryPath {
    param([string] $File)
    if ([string]::IsNullOrEmpty($File)) {
        return '<unknown file>'
    }
    $relative = [System.IO.Path]::GetRelativePath((Get-Location).ProviderPath, $File)
    if ($relative.StartsWith('..')) {
        return $File
    }
    return $relative.Replace('\', '/')
}

function Get-FailureLocation {
    # Where it failed: Should's own record names the assertion's file and line; other errors are found in the script
    # stack trace (the first frame outside Pester); the test's or block's own line is the fallback.
    param($ErrorRecord, [string] $File, [int] $Line)
    if ($null -ne $ErrorRecord) {
        $target = $ErrorRecord.TargetObject
        if ($target -is [System.Collections.IDictionary] -and @($target.Keys) -contains 'File' -and @($target.Keys) -contains 'Line' -and $target['File']) {
            return '{0}:{1}' -f (Get-RepositoryPath $target['File']), $target['Line']
        }
        # A syntax error names its own place.
        $exception = $ErrorRecord.Exception
        if ($exception -is [System.Management.Automation.ParseException] -and @($exception.Errors).Count -gt 0) {
            $extent = $exception.Errors[0].Extent
            return '{0}:{1}' -f (Get-RepositoryPath $extent.File), $extent.StartLineNumber
        }
        foreach ($frame in @("$($ErrorRecord.ScriptStackTrace)" -split '\r?\n')) {
            if ($frame -match '^at .*, (?<file>.+): line (?<line>\d+)$' -and $Matches['file'] -notlike "$($pester.ModuleBase)*" -and
                $Matches['file'] -ne $PSCommandPath) {
                return '{0}:{1}' -f (Get-RepositoryPath $Matches['file']), $Matches['line']
            }
        }
    }
    return '{0}:{1}' -f (Get-RepositoryPath $File), $Line
}

function Get-FailureMessage {
    param($ErrorRecord)
    if ($null -eq $ErrorRecord) {
        return '(no error record)'
    }
    return "$($ErrorRecord.Exception.Message)".Trim()
}

function Test-HasFailedTest {
    param($Block)
    foreach ($test in @($Block.Tests)) {
        if ($test.Result -eq 'Failed') {
            return $true
        }
    }
    foreach ($child in @($Block.Blocks)) {
        if (Test-HasFailedTest $child) {
            return $true
        }
    }
    return $false
}

# The tests run in this session state and would inherit 'Stop', which turns every non-terminating error into a
# terminating one. Run them with PowerShell's default, as Invoke-Pester in an ordinary session does.
$ErrorActionPreference = 'Continue'
$result = Invoke-Pester -Configuration $configuration
$ErrorActionPreference = 'Stop'

$failures = New-Object System.Collections.Generic.List[object]
foreach ($test in @($result.Failed)) {
    $record = @($test.ErrorRecord) | Select-Object -First 1
    if ($null -eq $record) {
        # A test that failed because a BeforeAll or BeforeEach above it failed has no record of its own.
        $block = $test.Block
        while ($null -ne $block -and $null -eq $record) {
            $record = @($block.ErrorRecord) | Select-Object -First 1
            $block = $block.Parent
        }
    }
    $failures.Add([pscustomobject]@{
            Name     = $test.ExpandedPath
            Location = Get-FailureLocation -ErrorRecord $record -File $test.ScriptBlock.File -Line $test.ScriptBlock.StartPosition.StartLine
            Message  = Get-FailureMessage $record
        })
}
# A failed BeforeAll fails the tests below it (counted above); a failed AfterAll fails no test, so it counts here.
foreach ($block in @($result.FailedBlocks)) {
    if (-not (Test-HasFailedTest $block)) {
        $record = @($block.ErrorRecord) | Select-Object -First 1
        $failures.Add([pscustomobject]@{
                Name     = "$($block.ExpandedPath) (BeforeAll/AfterAll)"
                Location = Get-FailureLocation -ErrorRecord $record -File $block.ScriptBlock.File -Line $block.ScriptBlock.StartPosition.StartLine
                Message  = Get-FailureMessage $record
            })
    }
}
# A file that cannot be discovered (a syntax error, a failing top-level line) runs no test at all.
foreach ($container in @($result.FailedContainers)) {
    $record = @($container.ErrorRecord) | Select-Object -First 1
    $failures.Add([pscustomobject]@{
            Name     = "$(Get-RepositoryPath "$($container.Item)") (the file did not run)"
            Location = Get-FailureLocation -ErrorRecord $record -File "$($container.Item)" -Line 1
            Message  = Get-FailureMessage $record
        })
}

# Failed tests, plus the blocks and files listed above that failed outside any failed test.
[int] $failedCount = $result.FailedCount + $failures.Count - @($result.Failed).Count
$summary = [ordered]@{
    Passed   = [int] $result.PassedCount
    Failed   = $failedCount
    Skipped  = [int] $result.SkippedCount
    Failures = $failures.ToArray()
}

if ($failures.Count -gt 0) {
    Write-Host ''
    Write-Host "Pester failures ($($failures.Count)):"
    foreach ($failure in $failures) {
        Write-Host "  [-] $($failure.Name)"
        Write-Host "      at $($failure.Location)"
        foreach ($line in ($failure.Message -split '\r?\n')) {
            Write-Host "      $line"
        }
    }
}
Write-Host ('Pester: {0} passed, {1} failed, {2} skipped' -f $summary.Passed, $summary.Failed, $summary.Skipped)

ConvertTo-Json -InputObject $summary -Depth 4 | Set-Content -LiteralPath $SummaryPath -Encoding utf8
# 1, not the count: exit codes wrap at 256 on Linux, and 256 failures must not read as success.
if ($summary.Failed -gt 0 -or $result.Result -ne 'Passed') {
    exit 1
}
exit 0

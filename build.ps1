<#
.SYNOPSIS
    Builds, tests or cleans ConnectionTools, or opens a session with the module imported.

.DESCRIPTION
    Build   Publishes the module into out/ConnectionTools, then checks the result:
            every expected file is there, the manifest's ModuleVersion equals the
            <Version> in Directory.Build.props, and Test-ModuleManifest accepts it.
    Test    Build, then every test: the xunit suites (dotnet test on the solution), then
            the Pester suite in a fresh pwsh process. Both suites run even when the first
            fails; the last line is the sum of both: "N passed, N failed, N skipped".
    Pester  Build, then the Pester suite only.
    Package Build, then out/ConnectionTools.<version>.nupkg, the gallery package: published with PSResourceGet
            (Publish-PSResource, in PowerShell 7.4 and later) to a temporary local repository.
    Shell   Build, then imports the module into this session. Run it with -NoExit to stay:
                dotnet pwsh -NoExit -File ./build.ps1 -Task Shell
    Clean   Removes out/ and the bin/obj folders of every project under src and tests.

    The Pester suite needs nothing installed: Pester comes with the repository
    (tests/Pester/PesterPackage lays it out in out/pester), and it runs in PowerShell 7.6,
    the repository's local dotnet tool (.config/dotnet-tools.json):
        dotnet tool restore
        dotnet pwsh -File ./build.ps1 -Task Test
    Under Windows PowerShell 5.1 the script restores that tool and runs the suite in it.

    Any failure ends the script with exit code 1.

.EXAMPLE
    dotnet pwsh -File ./build.ps1 -Task Test

.EXAMPLE
    ./build.ps1 -Task Test -Configuration Debug
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Pester', 'Shell', 'Package', 'Clean')]
    [string]$Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string]$Configuration = 'Release'
)

# No '#Requires -Version 7.0' on purpose: the module supports Windows PowerShell 5.1, so its build
# script must parse and run there too. Keep the syntax 5.1-compatible (no ?:, ??, &&, $IsWindows);
# tests/Pester/BuildScript.Tests.ps1 fails on syntax only PowerShell 7 accepts.
# The Shell task restores the caller's preferences: with -File, this script runs in the session's global scope.
$CallerErrorActionPreference = $ErrorActionPreference
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# Logs are plain text: PowerShell 7.2 and later colour warnings and errors with ANSI sequences even in a file or a pipe.
$style = Get-Variable -Name 'PSStyle' -ValueOnly -ErrorAction SilentlyContinue
if ($null -ne $style -and [Console]::IsOutputRedirected) {
    $style.OutputRendering = 'PlainText'
}

$RepoRoot = $PSScriptRoot
$ModuleFolder = Join-Path (Join-Path $RepoRoot 'out') 'ConnectionTools'
$TestResultsFolder = Join-Path (Join-Path $RepoRoot 'out') 'TestResults'
# Pester comes with the repository: this project downloads it from the NuGet feed and lays it out in out/pester.
$PesterProject = Join-Path $RepoRoot 'tests/Pester/PesterPackage/PesterPackage.csproj'
$PesterModuleRoot = Join-Path (Join-Path $RepoRoot 'out') 'pester'

# What a working module folder holds. Module.targets lays it out; this list is the independent check,
# so a change there that drops a file fails here, naming the file, instead of on a user's machine.
$ExpectedModuleFiles = @(
    'ConnectionTools.psd1'
    'ConnectionTools.PowerShell.dll'
    'ConnectionTools.Loader.dll'
    'ConnectionTools.format.ps1xml'
    'en-US/about_ConnectionTools.help.txt'
    'examples/connections.yaml'
    # Get-Help's cmdlet help, built from docs/cmdlets by src/ConnectionTools.HelpBuilder.
    'en-US/ConnectionTools.PowerShell.dll-Help.xml'
    'dependencies/ConnectionTools.Core.dll'
    'dependencies/Microsoft.Data.Sqlite.dll'
    'dependencies/SQLitePCLRaw.core.dll'
    'dependencies/SQLitePCLRaw.batteries_v2.dll'
    'dependencies/SQLitePCLRaw.provider.e_sqlite3.dll'
    # Core references it for secrets at rest (DPAPI on Windows).
    'dependencies/System.Security.Cryptography.ProtectedData.dll'
    # Connections as code: the YAML parser.
    'dependencies/YamlDotNet.dll'
    # Entra ID sign-in for Dynamics 365 (MSAL.NET) and what it needs on netstandard2.0.
    'dependencies/Microsoft.Identity.Client.dll'
    'dependencies/Microsoft.IdentityModel.Abstractions.dll'
    'dependencies/System.Diagnostics.DiagnosticSource.dll'
    'dependencies/System.Formats.Asn1.dll'
    'dependencies/System.Security.Cryptography.Cng.dll'
    # System.Text.Json and its closure, for the peer protocol's messages.
    'dependencies/System.Text.Json.dll'
    'dependencies/System.Text.Encodings.Web.dll'
    'dependencies/System.IO.Pipelines.dll'
    'dependencies/Microsoft.Bcl.AsyncInterfaces.dll'
    'dependencies/System.Threading.Tasks.Extensions.dll'
    # Facades Windows PowerShell 5.1 needs; PowerShell 7 takes its own from the runtime.
    'dependencies/System.Memory.dll'
    'dependencies/System.Buffers.dll'
    'dependencies/System.Numerics.Vectors.dll'
    'dependencies/System.Runtime.CompilerServices.Unsafe.dll'
    # The PostgreSQL engine (PowerShell 7 only) and what Npgsql needs there.
    'dependencies/ConnectionTools.Storage.PostgreSql.dll'
    'dependencies/Npgsql.dll'
    'dependencies/Microsoft.Extensions.Logging.Abstractions.dll'
    'dependencies/Microsoft.Extensions.DependencyInjection.Abstractions.dll'
    # The node host (src/ConnectionTools.Node), framework-dependent: dotnet with the ASP.NET Core 10 runtime runs it.
    'node/ConnectionTools.Node.dll'
    'node/ConnectionTools.Node.deps.json'
    'node/ConnectionTools.Node.runtimeconfig.json'
    'node/ConnectionTools.Core.dll'
    'node/Microsoft.Extensions.Hosting.Systemd.dll'
    'node/Microsoft.Extensions.Hosting.WindowsServices.dll'
    'node/ConnectionTools.Storage.PostgreSql.dll'
    'node/Npgsql.dll'
    'node/runtimes/linux-x64/native/libe_sqlite3.so'
    'node/runtimes/win-x64/native/e_sqlite3.dll'
    'node/runtimes/osx-arm64/native/libe_sqlite3.dylib'
)

# SQLite's native library for every platform the module runs on; our own resolver loads it from here.
$NativeLibraries = [ordered]@{
    'win-x64'          = 'e_sqlite3.dll'
    'win-x86'          = 'e_sqlite3.dll'
    'win-arm64'        = 'e_sqlite3.dll'
    'linux-x64'        = 'libe_sqlite3.so'
    'linux-arm64'      = 'libe_sqlite3.so'
    'linux-arm'        = 'libe_sqlite3.so'
    'linux-musl-x64'   = 'libe_sqlite3.so'
    'linux-musl-arm64' = 'libe_sqlite3.so'
    'osx-x64'          = 'libe_sqlite3.dylib'
    'osx-arm64'        = 'libe_sqlite3.dylib'
}

function Write-Step {
    param([Parameter(Mandatory = $true)][string]$Message)
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Get-Dotnet {
    $command = Get-Command -Name 'dotnet' -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if ($null -ne $command) {
        return $command.Path
    }
    # Started as `<path>/dotnet pwsh` with no dotnet on PATH: the process itself is dotnet.
    $processPath = (Get-Process -Id $PID).Path
    if ([System.IO.Path]::GetFileNameWithoutExtension($processPath) -eq 'dotnet') {
        return $processPath
    }
    throw 'dotnet is not on PATH. Install the .NET SDK 10 (https://dot.net) and run the build again.'
}

function Invoke-Native {
    # Runs an executable, shows its output, and fails on a non-zero exit code.
    param(
        [Parameter(Mandatory = $true)][string]$Description,
        [Parameter(Mandatory = $true)][string]$FilePath,
        [string[]]$ArgumentList = @()
    )

    Write-Step $Description
    # Windows PowerShell 5.1 turns redirected stderr lines into error records, which 'Stop' would make
    # fatal on the first warning a tool prints. The exit code is the verdict, so relax it here only
    # (this assignment is local to the function).
    $ErrorActionPreference = 'Continue'
    & $FilePath @ArgumentList | Out-Host
    $exitCode = $LASTEXITCODE
    if ($exitCode -ne 0) {
        throw "$Description failed with exit code $exitCode."
    }
}

function Test-ModuleLayout {
    Write-Step "Checking the module folder $ModuleFolder"
    $expected = New-Object System.Collections.Generic.List[string]
    foreach ($file in $ExpectedModuleFiles) {
        $expected.Add($file)
    }
    foreach ($rid in $NativeLibraries.Keys) {
        $expected.Add("dependencies/runtimes/$rid/native/$($NativeLibraries[$rid])")
    }

    $missing = @(foreach ($relative in $expected) {
            if (-not (Test-Path -LiteralPath (Join-Path $ModuleFolder $relative) -PathType Leaf)) {
                $relative
            }
        })
    if ($missing.Count -gt 0) {
        $list = ($missing | ForEach-Object { "  - $_" }) -join [Environment]::NewLine
        throw "The module folder '$ModuleFolder' is missing $($missing.Count) expected file(s):$([Environment]::NewLine)$list"
    }
    Write-Host "    all $($expected.Count) expected files are present"
}

function Test-ModuleVersion {
    Write-Step 'Checking the module version and manifest'
    # One version for every assembly and the manifest: Directory.Build.props is the source of truth.
    $propsPath = Join-Path $RepoRoot 'Directory.Build.props'
    [xml]$props = Get-Content -LiteralPath $propsPath -Raw
    $versionNode = $props.SelectSingleNode('/Project/PropertyGroup/Version')
    if ($null -eq $versionNode -or [string]::IsNullOrWhiteSpace($versionNode.InnerText)) {
        throw "No <Version> found in '$propsPath'."
    }
    $propsVersion = $versionNode.InnerText.Trim()

    $manifestPath = Join-Path $ModuleFolder 'ConnectionTools.psd1'
    # Test-ModuleManifest checks the manifest and the files it names, without importing the module.
    $manifest = Test-ModuleManifest -Path $manifestPath
    $manifestVersion = $manifest.Version.ToString()
    if ($manifestVersion -ne $propsVersion) {
        throw "ModuleVersion '$manifestVersion' in ConnectionTools.psd1 differs from <Version> '$propsVersion' in Directory.Build.props. Make them agree."
    }
    Write-Host "    version $propsVersion; manifest is valid"
}

function Get-ReleaseNotes {
    # The CHANGELOG.md section of $Version: the lines under '## <version>' up to the next '## '. Its absence fails the build.
    param([Parameter(Mandatory = $true)][string]$Version)
    $changelog = Join-Path $RepoRoot 'CHANGELOG.md'
    if (-not (Test-Path -LiteralPath $changelog -PathType Leaf)) {
        throw "CHANGELOG.md is missing: add it with a '## $Version' section, the release notes of this version."
    }
    $notes = New-Object System.Collections.Generic.List[string]
    $inSection = $false
    foreach ($line in (Get-Content -LiteralPath $changelog -Encoding UTF8)) {
        if ($line -match '^##\s+\[?([^\]\s]+)\]?\s*$') {
            if ($inSection) { break }
            $inSection = $Matches[1] -eq $Version
            continue
        }
        if ($inSection) { $notes.Add($line) }
    }
    $text = ($notes -join "`n").Trim()
    if (-not $inSection -or [string]::IsNullOrWhiteSpace($text)) {
        throw "CHANGELOG.md has no '## $Version' section with notes, for ModuleVersion $Version in ConnectionTools.psd1. Add one: the package's release notes come from it."
    }
    return $text
}

function Set-ReleaseNotes {
    # Writes the release notes into the built manifest's PSData (the source manifest stays free of them), then reads them back.
    $manifestPath = Join-Path $ModuleFolder 'ConnectionTools.psd1'
    $version = (Test-ModuleManifest -Path $manifestPath).Version.ToString()
    $notes = Get-ReleaseNotes -Version $version
    $text = [System.IO.File]::ReadAllText($manifestPath)
    $marker = 'PSData = @{'
    $at = $text.IndexOf($marker)
    if ($at -lt 0) {
        throw "The manifest '$manifestPath' has no '$marker' to put the release notes in."
    }
    $entry = "$marker`n            ReleaseNotes = '" + $notes.Replace("'", "''") + "'"
    $text = $text.Substring(0, $at) + $entry + $text.Substring($at + $marker.Length)
    [System.IO.File]::WriteAllText($manifestPath, $text, (New-Object System.Text.UTF8Encoding($false)))
    $written = (Test-ModuleManifest -Path $manifestPath).ReleaseNotes
    if ("$written".Replace("`r", '').Trim() -ne $notes) {
        throw "The release notes in '$manifestPath' differ from the CHANGELOG.md section of $version after writing them."
    }
    Write-Host "    release notes of $version from CHANGELOG.md"
}

function Invoke-Package {
    # Publish-PSResource makes the .nupkg a gallery takes; a local file repository, registered for this call only, receives it.
    Write-Step 'Packaging the module (Publish-PSResource to a temporary local repository)'
    if ($null -eq (Get-Command -Name 'Publish-PSResource' -ErrorAction SilentlyContinue)) {
        throw 'Publish-PSResource (Microsoft.PowerShell.PSResourceGet, part of PowerShell 7.4 and later) is not available here. Run: dotnet pwsh -File ./build.ps1 -Task Package'
    }
    $version = (Test-ModuleManifest -Path (Join-Path $ModuleFolder 'ConnectionTools.psd1')).Version.ToString()
    $repositoryFolder = Join-Path ([System.IO.Path]::GetTempPath()) ('connectiontools-package-' + [guid]::NewGuid().ToString('n'))
    $repositoryName = 'ConnectionToolsBuild' + [guid]::NewGuid().ToString('n')
    $null = New-Item -ItemType Directory -Path $repositoryFolder
    # In the temporary folder: where HOME has no .config, NuGet (under Publish-PSResource) writes NuGet/NuGet.Config relative
    # to the working directory, which must not be the repository.
    Push-Location -LiteralPath $repositoryFolder
    try {
        Register-PSResourceRepository -Name $repositoryName -Uri $repositoryFolder -Trusted
        Publish-PSResource -Path $ModuleFolder -Repository $repositoryName
        $package = @(Get-ChildItem -LiteralPath $repositoryFolder -Filter '*.nupkg')
        if ($package.Count -ne 1) {
            throw "Publish-PSResource left $($package.Count) packages in '$repositoryFolder'; expected one."
        }
        $target = Join-Path (Join-Path $RepoRoot 'out') "ConnectionTools.$version.nupkg"
        Copy-Item -LiteralPath $package[0].FullName -Destination $target -Force
        Write-Host "    $target ($([math]::Round($package[0].Length / 1MB, 1)) MB)"
    }
    finally {
        Pop-Location
        Unregister-PSResourceRepository -Name $repositoryName -ErrorAction SilentlyContinue
        Remove-Item -LiteralPath $repositoryFolder -Recurse -Force -ErrorAction SilentlyContinue
    }
}

function Invoke-Build {
    $dotnet = Get-Dotnet
    # The trailing separator matters: Module.targets appends sub-folders to ModuleOutputPath. A forward
    # slash also keeps a trailing backslash from escaping the closing quote when the path has spaces.
    Invoke-Native -Description "dotnet publish src/ConnectionTools.PowerShell -c $Configuration" -FilePath $dotnet -ArgumentList @(
        'publish'
        (Join-Path (Join-Path $RepoRoot 'src') 'ConnectionTools.PowerShell')
        '-c', $Configuration
        '-nologo'
        "-p:ModuleOutputPath=$ModuleFolder/"
    )
    # After the module: AssembleModule empties the module folder first. No apphost, so node/ is the same on every platform.
    Invoke-Native -Description "dotnet publish src/ConnectionTools.Node -c $Configuration (the node host, into node/)" -FilePath $dotnet -ArgumentList @(
        'publish'
        (Join-Path (Join-Path $RepoRoot 'src') 'ConnectionTools.Node')
        '-c', $Configuration
        '-nologo'
        '--no-self-contained'
        '-p:UseAppHost=false'
        '-o', (Join-Path $ModuleFolder 'node')
    )
    # A portable publish carries SQLite for 30-odd platforms (iOS, Android, browsers); keep those the module supports.
    $nodeRuntimes = Join-Path (Join-Path $ModuleFolder 'node') 'runtimes'
    foreach ($folder in @(Get-ChildItem -LiteralPath $nodeRuntimes -Directory)) {
        if (-not $NativeLibraries.Contains($folder.Name)) {
            Remove-Item -LiteralPath $folder.FullName -Recurse -Force
        }
    }
    Test-ModuleLayout
    Test-ModuleVersion
    Set-ReleaseNotes
}

function Test-WindowsPlatform {
    # $IsWindows does not exist in Windows PowerShell 5.1, and strict mode makes reading it an error.
    return [System.IO.Path]::DirectorySeparatorChar -eq '\'
}

function Get-DotnetRoot {
    # The folder of the dotnet that runs this build. A framework-dependent apphost (pwsh) looks for the runtime in
    # DOTNET_ROOT before the global install locations, so this makes it start where .NET lives elsewhere (~/.dotnet).
    $processPath = (Get-Process -Id $PID).Path
    if ([System.IO.Path]::GetFileNameWithoutExtension($processPath) -eq 'dotnet') {
        return Split-Path -Parent $processPath
    }
    $dotnet = Get-Dotnet
    # /usr/bin/dotnet is often a link to the install folder. File.ResolveLinkTarget is .NET 6+; Windows PowerShell 5.1
    # runs on Windows, where dotnet.exe is not a link.
    $resolve = [System.IO.File].GetMethod('ResolveLinkTarget', [type[]]@([string], [bool]))
    if ($null -ne $resolve) {
        $target = $resolve.Invoke($null, @($dotnet, $true))
        if ($null -ne $target) {
            $dotnet = $target.FullName
        }
    }
    return Split-Path -Parent $dotnet
}

function Find-TestPowerShell {
    # The pwsh that runs the Pester suite and that the tests start fresh processes with (CONNECTIONTOOLS_TEST_PWSH).
    # In PowerShell 7 (under `dotnet pwsh`, the repository's tool) it is this session's own: the apphost in $PSHOME, not
    # the process path, which is dotnet for a dotnet tool. In Windows PowerShell 5.1 it is the repository's tool,
    # restored here and asked where it lives. Returns FilePath and Arguments (what starts it) and TestPath (a file the
    # tests can run with & and arguments).
    $dotnet = Get-Dotnet
    $ErrorActionPreference = 'Continue'
    if ($PSVersionTable.PSEdition -eq 'Core') {
        $pwshHome = $PSHOME
    }
    else {
        Invoke-Native -Description 'dotnet tool restore (PowerShell 7 for the Pester suite)' -FilePath $dotnet -ArgumentList @('tool', 'restore')
        $pwshHome = (@(& $dotnet pwsh -NoProfile -NonInteractive -Command '[Console]::Out.Write($PSHOME)') -join '').Trim()
        if ($LASTEXITCODE -ne 0 -or [string]::IsNullOrEmpty($pwshHome)) {
            throw "'dotnet pwsh', the repository's PowerShell (.config/dotnet-tools.json), did not start (exit code $LASTEXITCODE)."
        }
    }

    if ([string]::IsNullOrEmpty($env:DOTNET_ROOT)) {
        $env:DOTNET_ROOT = Get-DotnetRoot
    }
    $apphost = Join-Path $pwshHome $(if (Test-WindowsPlatform) { 'pwsh.exe' } else { 'pwsh' })
    $assembly = Join-Path $pwshHome 'pwsh.dll'
    $probe = '[Console]::Out.Write($PSVersionTable.PSVersion.ToString())'

    $reason = "'$apphost' does not exist"
    if (Test-Path -LiteralPath $apphost -PathType Leaf) {
        try {
            $version = (@(& $apphost -NoProfile -NonInteractive -Command $probe 2>&1) -join ' ').Trim()
            if ($LASTEXITCODE -eq 0 -and $version -match '^\d+\.\d+') {
                return [pscustomobject]@{ FilePath = $apphost; Arguments = @(); TestPath = $apphost; Version = $version }
            }
            $reason = "'$apphost' exited with code $LASTEXITCODE`: $version"
        }
        catch {
            $cause = $_.Exception
            while ($null -ne $cause.InnerException) {
                $cause = $cause.InnerException
            }
            $reason = "'$apphost' did not start: $($cause.Message)"
        }
    }

    # No working apphost (say, a package cache without the execute bit): run pwsh.dll with dotnet. The tests need one
    # file to start, so on Linux and macOS a two-line script under out/ stands in for the apphost.
    if (-not (Test-Path -LiteralPath $assembly -PathType Leaf) -or (Test-WindowsPlatform)) {
        throw "no PowerShell 7 to run the Pester suite with: $reason."
    }
    $dotnetHost = Join-Path $env:DOTNET_ROOT 'dotnet'
    $version = (@(& $dotnetHost $assembly -NoProfile -NonInteractive -Command $probe 2>&1) -join ' ').Trim()
    if ($LASTEXITCODE -ne 0 -or $version -notmatch '^\d+\.\d+') {
        throw "no PowerShell 7 to run the Pester suite with: $reason; 'dotnet $assembly' failed too (exit code $LASTEXITCODE): $version"
    }
    $wrapperFolder = Join-Path (Join-Path $RepoRoot 'out') 'pwsh'
    $null = New-Item -ItemType Directory -Path $wrapperFolder -Force
    $wrapper = Join-Path $wrapperFolder 'pwsh'
    $quote = { param($value) "'" + $value.Replace("'", "'\''") + "'" }
    [System.IO.File]::WriteAllText($wrapper, "#!/bin/sh`nexec $(& $quote $dotnetHost) $(& $quote $assembly) `"`$@`"`n")
    & chmod +x $wrapper
    Write-Host "    $reason; using 'dotnet pwsh.dll' through $wrapper"
    return [pscustomobject]@{ FilePath = $dotnetHost; Arguments = @($assembly); TestPath = $wrapper; Version = $version }
}

function Install-RepositoryPester {
    # Pester comes with the repository: tests/Pester/PesterPackage downloads it from the NuGet feed and lays it out as
    # out/pester/Pester/<version>/. Returns the version, which the project file names once.
    [xml]$project = Get-Content -LiteralPath $PesterProject -Raw
    $versionNode = $project.SelectSingleNode('/Project/PropertyGroup/PesterVersion')
    if ($null -eq $versionNode -or [string]::IsNullOrWhiteSpace($versionNode.InnerText)) {
        throw "No <PesterVersion> found in '$PesterProject'."
    }
    $version = $versionNode.InnerText.Trim()

    try {
        Invoke-Native -Description "Pester $version from the NuGet feed into out/pester (dotnet build tests/Pester/PesterPackage)" -FilePath (Get-Dotnet) -ArgumentList @(
            'build', $PesterProject, '-c', $Configuration, '-nologo', '-v', 'minimal'
        )
    }
    catch {
        throw "Pester $version could not be laid out in out/pester: $($_.Exception.Message) (dotnet's error is above; the package comes from the NuGet feed)"
    }
    $manifest = Join-Path $PesterModuleRoot "Pester/$version/Pester.psd1"
    if (-not (Test-Path -LiteralPath $manifest -PathType Leaf)) {
        throw "Pester $version could not be laid out: '$manifest' is missing after dotnet build tests/Pester/PesterPackage."
    }
    return $version
}

function New-SuiteResult {
    param([Parameter(Mandatory = $true)][string]$Name)
    # Problem: why the suite did not run, or failed without a failed test (a build error, an aborted run).
    return [pscustomobject]@{ Name = $Name; Passed = 0; Failed = 0; Skipped = 0; Problem = $null; Failures = @() }
}

function Invoke-XunitSuite {
    # dotnet test on the solution, or with -Project on one test project, already built (-Filter picks tests, -Engine the
    # store engine TestStore opens). Its output is shown as it comes and read for the totals: each test assembly prints
    # one "Passed!|Failed! - Failed: F, Passed: P, Skipped: S, Total: T" line, and each failed test "  Failed <name> [time]".
    param(
        [string]$Name = 'xunit (dotnet test)',
        [string]$Project,
        [string]$Filter,
        [string]$Engine
    )
    $suite = New-SuiteResult -Name $Name
    $dotnet = Get-Dotnet
    $target = if ($Project) { Join-Path $RepoRoot $Project } else { Join-Path $RepoRoot 'ConnectionTools.sln' }
    $arguments = @('test', $target, '-c', $Configuration, '-nologo')
    if ($Project) {
        $arguments += '--no-build'
    }
    if ($Filter) {
        $arguments += @('--filter', $Filter)
    }
    $savedEngine = $env:CONNECTIONTOOLS_TEST_ENGINE
    $env:CONNECTIONTOOLS_TEST_ENGINE = $Engine
    Write-Step "dotnet $($arguments -join ' ')$(if ($Engine) { " (stores on $Engine)" })"
    $counts = @{ Assemblies = 0 }
    $failures = New-Object System.Collections.Generic.List[string]
    # The summary repeats each failure's message and the test line it failed at: CI logs are often read from the end only.
    $reading = @{ Failure = -1; Section = ''; Lines = 0 }
    # Continue: in Windows PowerShell 5.1, 2>&1 turns stderr lines into error records, which 'Stop' would make fatal.
    $ErrorActionPreference = 'Continue'
    & $dotnet @arguments 2>&1 | ForEach-Object {
        $line = "$_"
        Write-Host $line
        if ($line -match '^\s*(Passed|Failed|Skipped)!\s+-\s+Failed:\s*(\d+),\s*Passed:\s*(\d+),\s*Skipped:\s*(\d+)') {
            $counts.Assemblies++
            $suite.Failed += [int]$Matches[2]
            $suite.Passed += [int]$Matches[3]
            $suite.Skipped += [int]$Matches[4]
        }
        elseif ($line -match '^\s+Failed\s+(\S.*?)\s+\[[^\]]*\]\s*$') {
            $failures.Add($Matches[1])
            $reading.Failure = $failures.Count - 1
            $reading.Section = ''
            $reading.Lines = 0
        }
        elseif ($reading.Failure -ge 0) {
            if ($line -match '^\s+(Error Message|Stack Trace|Standard Output Messages):\s*$') {
                $reading.Section = $Matches[1]
            }
            elseif ($reading.Section -eq 'Error Message' -and $reading.Lines -lt 8 -and $line.Trim()) {
                $failures[$reading.Failure] += "`n          $($line.Trim())"
                $reading.Lines++
            }
            elseif ($reading.Section -eq 'Stack Trace' -and $line -match '\sin\s+(\S*Tests?\S*\.cs:line\s+\d+)') {
                $failures[$reading.Failure] += "`n          at $($Matches[1])"
                $reading.Failure = -1
            }
        }
    }
    $exitCode = $LASTEXITCODE
    $env:CONNECTIONTOOLS_TEST_ENGINE = $savedEngine
    $suite.Failures = @($failures)
    if ($exitCode -ne 0 -and $suite.Failed -eq 0) {
        $suite.Problem = "failed without a failed test: dotnet test exited with code $exitCode (a build error or an aborted test run; see above)."
    }
    elseif ($exitCode -eq 0 -and $counts.Assemblies -eq 0) {
        $suite.Problem = 'printed no test summary, so its totals could not be read.'
    }
    return $suite
}

function Invoke-PesterSuite {
    # The Pester suite in a fresh pwsh process, so nothing it loads (the module's DLLs, Pester) ends up in this session,
    # where loaded assemblies would lock out/ on Windows and could hide load-order bugs. The runner is a file run with
    # -File: -EncodedCommand would make the child write its streams to the log as CLIXML.
    $suite = New-SuiteResult -Name 'Pester'
    $savedTestPwsh = $env:CONNECTIONTOOLS_TEST_PWSH
    $savedDotnetRoot = $env:DOTNET_ROOT
    try {
        $pesterVersion = Install-RepositoryPester
        $suite.Name = "Pester $pesterVersion"
        $pwsh = Find-TestPowerShell
        # The tests start fresh processes with this pwsh, the same on every machine (pwsh need not be on PATH).
        $env:CONNECTIONTOOLS_TEST_PWSH = $pwsh.TestPath

        if (-not (Test-Path -LiteralPath $TestResultsFolder)) {
            $null = New-Item -ItemType Directory -Path $TestResultsFolder
        }
        $testsPath = Join-Path (Join-Path $RepoRoot 'tests') 'Pester'
        $summaryPath = Join-Path $TestResultsFolder 'pester-summary.json'
        if (Test-Path -LiteralPath $summaryPath) {
            Remove-Item -LiteralPath $summaryPath
        }
        $arguments = @($pwsh.Arguments) + @(
            '-NoProfile', '-NonInteractive', '-File', (Join-Path $testsPath 'Invoke-PesterSuite.ps1')
            '-PesterRoot', $PesterModuleRoot
            '-PesterVersion', $pesterVersion
            '-Path', $testsPath
            '-ResultPath', (Join-Path $TestResultsFolder 'pester.xml')
            '-SummaryPath', $summaryPath
        )
        Write-Step "Pester $pesterVersion on tests/Pester in PowerShell $($pwsh.Version) ($($pwsh.TestPath)); results in out/TestResults/pester.xml"
        $ErrorActionPreference = 'Continue'
        # Out-Host, so that the child's output is shown and never becomes this function's output.
        & $pwsh.FilePath @arguments | Out-Host
        $exitCode = $LASTEXITCODE
        if (-not (Test-Path -LiteralPath $summaryPath -PathType Leaf)) {
            $suite.Problem = "did not finish: the Pester process exited with code $exitCode before it wrote its totals (see above)."
            return $suite
        }
        $summary = Get-Content -LiteralPath $summaryPath -Raw -Encoding UTF8 | ConvertFrom-Json
        $suite.Passed = [int]$summary.Passed
        $suite.Failed = [int]$summary.Failed
        $suite.Skipped = [int]$summary.Skipped
        $suite.Failures = @($summary.Failures | Where-Object { $null -ne $_ } | ForEach-Object { "$($_.Name) ($($_.Location))" })
        if ($exitCode -ne 0 -and $suite.Failed -eq 0) {
            $suite.Problem = "failed without a failed test: the Pester process exited with code $exitCode (see above)."
        }
        elseif ($suite.Passed + $suite.Failed -eq 0) {
            # A suite that ran nothing is a skipped suite in disguise: CI must not pass on it.
            $suite.Problem = "ran no test: every test was skipped or none was found under $testsPath."
        }
    }
    catch {
        $suite.Problem = "did not run: $($_.Exception.Message)"
    }
    finally {
        $env:CONNECTIONTOOLS_TEST_PWSH = $savedTestPwsh
        $env:DOTNET_ROOT = $savedDotnetRoot
    }
    return $suite
}

function Start-TestPostgres {
    # The PostgreSQL tests need a real server. One throwaway cluster on loopback (tests/Shared/postgres-cluster.sh) serves
    # both suites: its server.env goes into this process's environment, which dotnet test and the Pester pwsh inherit.
    # Returns what Stop-TestPostgres needs (null when nothing was started). A start that fails throws the script's
    # message: the PostgreSQL tests must fail, not skip, without a server.
    if (-not [string]::IsNullOrEmpty($env:CONNECTIONTOOLS_TEST_POSTGRES)) {
        Write-Step "PostgreSQL tests use the server in CONNECTIONTOOLS_TEST_POSTGRES ($env:CONNECTIONTOOLS_TEST_POSTGRES)"
        return $null
    }
    if (Test-WindowsPlatform) {
        # The script needs bash, runuser and Debian's PostgreSQL layout; on Windows, point the tests at a server instead.
        Write-Step 'No PostgreSQL test server started on Windows: the PostgreSQL tests need CONNECTIONTOOLS_TEST_POSTGRES (Host=...;Port=...;Username=...;Database=...) and PGPASSFILE or PGPASSWORD'
        return $null
    }
    $clusterScript = Join-Path (Join-Path (Join-Path $RepoRoot 'tests') 'Shared') 'postgres-cluster.sh'
    $folder = Join-Path ([System.IO.Path]::GetTempPath()) ('connectiontools-postgres-' + [guid]::NewGuid().ToString('n'))
    Write-Step "Starting a throwaway PostgreSQL server for the tests (tests/Shared/postgres-cluster.sh start $folder)"
    # Continue: the script's reasons come on stderr, and they are the message, not a reason to stop here.
    $ErrorActionPreference = 'Continue'
    $output = @(& bash $clusterScript start $folder 2>&1 | ForEach-Object { "$_" })
    $exitCode = $LASTEXITCODE
    $output | Out-Host
    if ($exitCode -ne 0) {
        # Nothing runs after a failed start, but the folder (with the server's log) stays until stop removes it.
        & bash $clusterScript stop $folder 2>&1 | Out-Host
        throw "the PostgreSQL test server did not start (postgres-cluster.sh exited with code $exitCode): $(($output -join ' ').Trim())"
    }

    $server = [pscustomobject]@{ Script = $clusterScript; Folder = $folder; SavedEnvironment = [ordered]@{} }
    foreach ($line in (Get-Content -LiteralPath (Join-Path $folder 'server.env'))) {
        $at = $line.IndexOf('=')
        if ($at -lt 1) {
            continue
        }
        $name = $line.Substring(0, $at)
        $server.SavedEnvironment[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $line.Substring($at + 1))
    }
    return $server
}

function Stop-TestPostgres {
    # Stops the server Start-TestPostgres started, removes its folder and gives the environment back its earlier values.
    # A server that will not stop is reported, not a test failure: the suites' verdict is already in.
    param([object]$Server)
    if ($null -eq $Server) {
        return
    }
    foreach ($name in @($Server.SavedEnvironment.Keys)) {
        [Environment]::SetEnvironmentVariable($name, $Server.SavedEnvironment[$name])
    }
    Write-Step "Stopping the PostgreSQL test server (tests/Shared/postgres-cluster.sh stop $($Server.Folder))"
    $ErrorActionPreference = 'Continue'
    & bash $Server.Script stop $Server.Folder 2>&1 | Out-Host
    if ($LASTEXITCODE -ne 0) {
        Write-Warning "postgres-cluster.sh stop exited with code $LASTEXITCODE; a PostgreSQL server may still run from $($Server.Folder)."
    }
}

function Write-TestSummary {
    # One line per suite, what failed, then (last, written by the caller) the plain totals line.
    param([Parameter(Mandatory = $true)][object[]]$Suite)
    Write-Step 'Test summary'
    foreach ($result in $Suite) {
        Write-Host ("    {0}: {1} passed, {2} failed, {3} skipped" -f $result.Name, $result.Passed, $result.Failed, $result.Skipped)
        if ($null -ne $result.Problem) {
            Write-Host "      FAILED: $($result.Name) $($result.Problem)"
        }
        foreach ($failure in @($result.Failures)) {
            Write-Host "      failed: $failure"
        }
    }
}

function Import-BuiltModule {
    # The Shell task: the built module in this session. Run with -NoExit, the session stays open with it.
    $manifest = Join-Path $ModuleFolder 'ConnectionTools.psd1'
    Write-Step "Importing $manifest into this session"
    $module = Import-Module -Name $manifest -Global -Force -PassThru
    $store = 'the per-user default store'
    if (-not [string]::IsNullOrEmpty($env:CONNECTIONTOOLS_STORE)) {
        $store = "the store in CONNECTIONTOOLS_STORE ($env:CONNECTIONTOOLS_STORE)"
    }
    Write-Host "    ConnectionTools $($module.Version) is imported, on $($store): try Get-Connection, or Get-ConnectionNode to see which store and why."
    $commandLine = @([Environment]::GetCommandLineArgs() | Select-Object -Skip 1)
    $stays = @($commandLine | Where-Object { $_ -match '^(-|--|/)noe' }).Count -gt 0
    $runsFile = @($commandLine | Where-Object { $_ -match '^(-|--|/)(f|fi|fil|file|c|co|com|comm|comma|comman|command)$' }).Count -gt 0
    if ($stays) {
        Write-Host '    Type exit to leave.'
    }
    elseif ($runsFile) {
        Write-Warning 'This pwsh ends with the script. To stay in a session with the module: dotnet pwsh -NoExit -File ./build.ps1 -Task Shell'
    }
}

function Invoke-Clean {
    $targets = New-Object System.Collections.Generic.List[string]
    $out = Join-Path $RepoRoot 'out'
    if (Test-Path -LiteralPath $out) {
        $targets.Add($out)
    }
    # Only bin/obj next to a project file, so a folder that happens to be called bin elsewhere survives.
    foreach ($root in @('src', 'tests')) {
        $folder = Join-Path $RepoRoot $root
        if (-not (Test-Path -LiteralPath $folder)) {
            continue
        }
        foreach ($project in @(Get-ChildItem -LiteralPath $folder -Filter '*.csproj' -Recurse -File)) {
            foreach ($name in @('bin', 'obj')) {
                $path = Join-Path $project.DirectoryName $name
                if (Test-Path -LiteralPath $path) {
                    $targets.Add($path)
                }
            }
        }
    }

    Write-Step 'Cleaning'
    foreach ($path in $targets) {
        Write-Host "    removing $path"
        Remove-Item -LiteralPath $path -Recurse -Force
    }
    if ($targets.Count -eq 0) {
        Write-Host '    nothing to clean'
    }
}

$stopwatch = [Diagnostics.Stopwatch]::StartNew()
$failure = $null
$suites = @()
Push-Location -LiteralPath $RepoRoot
try {
    switch ($Task) {
        'Build' {
            Invoke-Build
        }
        'Test' {
            Invoke-Build
            $postgres = Start-TestPostgres
            try {
                # Every suite runs even when one fails, so that the totals are complete. The store's tests run twice: the
                # second time every TestStore is a PostgreSQL database: the classes built on TestStore, but the SQLite file's own tests.
                $postgresStoreTests = '(FullyQualifiedName~.ApplyTests|FullyQualifiedName~.BindingConfigurationTests|FullyQualifiedName~.BindingTests|FullyQualifiedName~.ConnectionCommandsTests|FullyQualifiedName~.DefaultCustomerTests|FullyQualifiedName~.InvitationCommandsTests|FullyQualifiedName~.OutgoingEventsTests|FullyQualifiedName~.PlanChecksTests|FullyQualifiedName~.ProcessClaimsTests|FullyQualifiedName~.RuleSandboxTests|FullyQualifiedName~.StoreSessionTests|FullyQualifiedName~.SyncEventCommandsTests|FullyQualifiedName~.SyncRuleScriptTests|FullyQualifiedName~.SyncRuleTests|FullyQualifiedName~.ValidationTests)&Store!=SqliteFile'
                $suites = @(Invoke-XunitSuite) +
                    @(Invoke-XunitSuite -Name 'xunit on PostgreSQL (Core.Tests)' -Project 'tests/ConnectionTools.Core.Tests' -Filter $postgresStoreTests -Engine 'postgresql') +
                    @(Invoke-XunitSuite -Name 'xunit on PostgreSQL (case sync and jobs)' -Project 'tests/ConnectionTools.Authorization.Tests' -Filter 'FullyQualifiedName~IncomingApplyTests|FullyQualifiedName~CommentSyncTests|FullyQualifiedName~JobLeaseTests|FullyQualifiedName~RetrievalJobTests' -Engine 'postgresql') +
                    @(Invoke-PesterSuite)
            }
            finally {
                Stop-TestPostgres -Server $postgres
            }
        }
        'Pester' {
            Invoke-Build
            $postgres = Start-TestPostgres
            try {
                $suites = @(Invoke-PesterSuite)
            }
            finally {
                Stop-TestPostgres -Server $postgres
            }
        }
        'Package' {
            Invoke-Build
            Invoke-Package
        }
        'Shell' {
            Invoke-Build
            Import-BuiltModule
        }
        'Clean' {
            Invoke-Clean
        }
    }
}
catch {
    $failure = $_.Exception.Message
}
finally {
    Pop-Location
}

$totals = @{ Passed = 0; Failed = 0; Skipped = 0 }
if ($suites.Count -gt 0) {
    Write-TestSummary -Suite $suites
    $problems = @()
    foreach ($result in $suites) {
        $totals.Passed += $result.Passed
        $totals.Failed += $result.Failed
        $totals.Skipped += $result.Skipped
        if ($null -ne $result.Problem) {
            $problems += "$($result.Name) $($result.Problem)"
        }
    }
    if ($null -eq $failure -and ($totals.Failed -gt 0 -or $problems.Count -gt 0)) {
        $reasons = @()
        if ($totals.Failed -gt 0) {
            $reasons += "$($totals.Failed) failed test(s)"
        }
        $failure = ($reasons + $problems) -join '; '
    }
}

$elapsed = '{0:0.0} s' -f $stopwatch.Elapsed.TotalSeconds
if ($null -eq $failure) {
    Write-Host "build.ps1 -Task $($Task): succeeded in $elapsed" -ForegroundColor Green
}
else {
    $host.UI.WriteErrorLine("build.ps1 -Task $($Task): FAILED in $($elapsed): $failure")
}
if ($suites.Count -gt 0) {
    # The closing line, plain, for people and CI logs alike: the sum of every suite that ran.
    Write-Host ('{0} passed, {1} failed, {2} skipped' -f $totals.Passed, $totals.Failed, $totals.Skipped)
}

# Run with -File, this script shares the session's global scope: give the prompt (the Shell task, -NoExit) back its
# defaults instead of strict mode and 'Stop'.
$ErrorActionPreference = $CallerErrorActionPreference
Set-StrictMode -Off
if ($null -ne $failure) {
    exit 1
}
exit 0

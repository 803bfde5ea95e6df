#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    build.ps1 must parse and run in Windows PowerShell 5.1, which this machine (and CI) does not have. So the script is
    parsed here and its syntax tree searched for what only PowerShell 6 or 7 accepts; each construct is also checked
    on a snippet that uses it, so that the search can fail. The README's set-up commands get the same check (they must
    work in bash, pwsh and Windows PowerShell 5.1), and .ci/run must run the README's test command.

    Needs no built module. Run it with the rest of the suite (./build.ps1 -Task Test), or:
        Invoke-Pester -Path tests/Pester/BuildScript.Tests.ps1 -Output Detailed
#>

Describe 'build.ps1 and the set-up commands' {
    BeforeAll {
        $repoRoot = [System.IO.Path]::GetFullPath((Join-Path $PSScriptRoot '../..'))
        $buildScript = Join-Path $repoRoot 'build.ps1'

        function Find-PowerShell7Syntax {
            # Returns one 'construct at line N' string for each piece of syntax Windows PowerShell 5.1 rejects or
            # reads differently.
            param([Parameter(Mandatory)] [System.Management.Automation.Language.Ast] $Ast)

            $found = [System.Collections.Generic.List[string]]::new()
            $add = { param($what, $node) $found.Add("$what at line $($node.Extent.StartLineNumber)") }
            $nodes = $Ast.FindAll({ $true }, $true)
            foreach ($node in $nodes) {
                switch ($node) {
                    { $_ -is [System.Management.Automation.Language.PipelineChainAst] } {
                        & $add "pipeline chain '$($_.Operator -eq 'AndAnd' ? '&&' : '||')'" $_
                    }
                    { $_ -is [System.Management.Automation.Language.TernaryExpressionAst] } {
                        & $add 'ternary operator ?:' $_
                    }
                    { $_ -is [System.Management.Automation.Language.BinaryExpressionAst] -and $_.Operator -eq 'QuestionQuestion' } {
                        & $add "null-coalescing operator '??'" $_
                    }
                    { $_ -is [System.Management.Automation.Language.AssignmentStatementAst] -and $_.Operator -eq 'QuestionQuestionEquals' } {
                        & $add "null-coalescing assignment '??='" $_
                    }
                    { $_ -is [System.Management.Automation.Language.MemberExpressionAst] -and $_.NullConditional } {
                        & $add "null-conditional member access '?.'" $_
                    }
                    { $_ -is [System.Management.Automation.Language.IndexExpressionAst] -and $_.NullConditional } {
                        & $add "null-conditional index '?[]'" $_
                    }
                    { $_ -is [System.Management.Automation.Language.PipelineAst] -and $_.Background } {
                        & $add "background operator '&'" $_
                    }
                    { $_ -is [System.Management.Automation.Language.NamedBlockAst] -and $_.BlockKind -eq 'Clean' } {
                        & $add "'clean' block" $_
                    }
                    { $_ -is [System.Management.Automation.Language.CommandAst] -and
                        @('ForEach-Object', 'foreach', '%') -contains $_.GetCommandName() } {
                        foreach ($element in $_.CommandElements) {
                            # -Parallel, or any abbreviation PowerShell would accept for it (-Pa is already unique).
                            if ($element -is [System.Management.Automation.Language.CommandParameterAst] -and
                                $element.ParameterName.Length -ge 2 -and 'Parallel'.StartsWith($element.ParameterName, [System.StringComparison]::OrdinalIgnoreCase)) {
                                & $add 'ForEach-Object -Parallel' $_
                            }
                        }
                    }
                    { $_ -is [System.Management.Automation.Language.VariableExpressionAst] -and
                        @('IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR') -contains $_.VariablePath.UserPath } {
                        # Not syntax, but absent in 5.1, where strict mode makes reading it an error.
                        & $add "automatic variable `$$($_.VariablePath.UserPath)" $_
                    }
                    { ($_ -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $_.StringConstantType -like 'DoubleQuoted*') -or
                        $_ -is [System.Management.Automation.Language.ExpandableStringExpressionAst] } {
                        # 5.1 reads "`e" as "e" and "`u{1F600}" as "u{1F600}".
                        if ($_.Extent.Text -cmatch '(?<!`)(``)*`u\{') {
                            & $add 'escape sequence `u{...}' $_
                        }
                        if ($_.Extent.Text -cmatch '(?<!`)(``)*`e') {
                            & $add 'escape sequence `e' $_
                        }
                    }
                }
            }
            # A construct inside a string is found twice (as an ExpandableString and as its parts): report it once.
            return @($found | Select-Object -Unique)
        }

        function Get-ScriptAst {
            param([Parameter(Mandatory)] [string] $Text)
            $tokens = $null
            $errors = $null
            $ast = [System.Management.Automation.Language.Parser]::ParseInput($Text, [ref] $tokens, [ref] $errors)
            $errors | Should -BeNullOrEmpty -Because 'the snippet is valid PowerShell 7'
            $ast
        }

        function Get-ReadmeSetUpCommand {
            # The command lines of the README's "Set up" code block: every line that is not blank and not a comment.
            $readme = Get-Content -LiteralPath (Join-Path $repoRoot 'README.md') -Raw
            $section = [regex]::Match($readme, '(?ms)^## Set up\s*$.*?^```[a-z]*\s*$(?<block>.*?)^```')
            $section.Success | Should -BeTrue -Because 'the README has a "Set up" section with a code block'
            @($section.Groups['block'].Value -split '\r?\n' | ForEach-Object { $_.Trim() } | Where-Object { $_ -and -not $_.StartsWith('#') })
        }
    }

    It 'parses without errors' {
        $tokens = $null
        $errors = $null
        $null = [System.Management.Automation.Language.Parser]::ParseFile($buildScript, [ref] $tokens, [ref] $errors)
        @($errors | ForEach-Object { "line $($_.Extent.StartLineNumber): $($_.Message)" }) | Should -BeNullOrEmpty
    }

    It 'uses only syntax Windows PowerShell 5.1 accepts' {
        $tokens = $null
        $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($buildScript, [ref] $tokens, [ref] $errors)
        Find-PowerShell7Syntax -Ast $ast | Should -BeNullOrEmpty
    }

    It 'has no #Requires that keeps Windows PowerShell 5.1 out' {
        $tokens = $null
        $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseFile($buildScript, [ref] $tokens, [ref] $errors)
        if ($null -ne $ast.ScriptRequirements) {
            $ast.ScriptRequirements.RequiredPSEditions | Should -Not -Contain 'Core'
            if ($null -ne $ast.ScriptRequirements.RequiredPSVersion) {
                $ast.ScriptRequirements.RequiredPSVersion | Should -BeLessOrEqual ([version] '5.1')
            }
        }
    }

    Context 'the check finds what only PowerShell 7 accepts' {
        It 'finds <Construct>' -TestCases @(
            @{ Construct = "pipeline chain '&&'"; Snippet = 'dotnet tool restore && dotnet pwsh' }
            @{ Construct = "pipeline chain '||'"; Snippet = 'Get-Item x || Write-Host missing' }
            @{ Construct = 'ternary operator ?:'; Snippet = '$a = $true ? 1 : 2' }
            @{ Construct = "null-coalescing operator '??'"; Snippet = '$a = $b ?? 3' }
            @{ Construct = "null-coalescing assignment '??='"; Snippet = '$a ??= 3' }
            @{ Construct = "null-conditional member access '?.'"; Snippet = '${a}?.Length' }
            @{ Construct = "null-conditional index '?[]'"; Snippet = '${a}?[0]' }
            @{ Construct = "background operator '&'"; Snippet = 'Start-Sleep 1 &' }
            @{ Construct = "'clean' block"; Snippet = 'function f { process { 1 } clean { 2 } }' }
            @{ Construct = 'ForEach-Object -Parallel'; Snippet = '1..2 | ForEach-Object -Parallel { $_ }' }
            @{ Construct = 'ForEach-Object -Parallel'; Snippet = '1..2 | % -Par { $_ } -ThrottleLimit 2' }
            @{ Construct = 'ForEach-Object -Parallel'; Snippet = '1..2 | foreach -parallel { $_ }' }
            @{ Construct = 'automatic variable $IsWindows'; Snippet = 'if ($IsWindows) { 1 }' }
            @{ Construct = 'automatic variable $IsMacOS'; Snippet = '$mac = $IsMacOS' }
            @{ Construct = 'escape sequence `e'; Snippet = '"`e[31mred"' }
            @{ Construct = 'escape sequence `u{...}'; Snippet = '"`u{2713} done"' }
        ) {
            $found = Find-PowerShell7Syntax -Ast (Get-ScriptAst $Snippet)
            $found | Should -Contain "$Construct at line 1"
        }

        It 'finds nothing in syntax Windows PowerShell 5.1 accepts' {
            $snippet = @'
[CmdletBinding()]
param([string] $Task = 'Build')
$a = if ($Task -eq 'Build') { 1 } else { 2 }
$b = $null; if ($null -eq $b) { $b = 3 }
$items = @(1, 2) | ForEach-Object -Process { $_ } -End { 'done' }
foreach ($item in $items) { $item.ToString() }
$c = "a `t tab, a `` backtick, a `$ dollar, not an escape: ``e"
$d = 'single quoted `e and `u{41}'
& dotnet --info 2>&1 | Out-Host
$onWindows = [System.IO.Path]::DirectorySeparatorChar -eq '\'
$h = @{ a = 1 }; $h['a']
function f { begin { } process { } end { } }
'@
            Find-PowerShell7Syntax -Ast (Get-ScriptAst $snippet) | Should -BeNullOrEmpty
        }
    }

    Context 'the README and CI' {
        It 'the README''s set-up commands parse in Windows PowerShell 5.1 (no &&, one command a line)' {
            $commands = Get-ReadmeSetUpCommand
            $commands | Should -Not -BeNullOrEmpty
            foreach ($command in $commands) {
                $command | Should -Not -Match '&&|\|\|' -Because "bash and pwsh accept '&&', Windows PowerShell 5.1 does not: $command"
                Find-PowerShell7Syntax -Ast (Get-ScriptAst $command) | Should -BeNullOrEmpty -Because $command
            }
        }

        It 'the README has a "run it" command (the Shell task) and a "test it" command (the Test task)' {
            $commands = Get-ReadmeSetUpCommand
            $commands | Should -Contain 'dotnet tool restore'
            $commands | Should -Contain 'dotnet pwsh -NoExit -File ./build.ps1 -Task Shell'
            $commands | Should -Contain 'dotnet pwsh -File ./build.ps1 -Task Test'
        }

        It '.ci/run runs the README''s test command, in order' {
            # The README's test command: the lines that follow its "# Test it" comment in the Set up block.
            $readme = Get-Content -LiteralPath (Join-Path $repoRoot 'README.md') -Raw
            $block = [regex]::Match($readme, '(?ms)^## Set up\s*$.*?^# Test it[^\n]*\n(?<commands>.*?)(^\s*$|^#|^```)')
            $block.Success | Should -BeTrue -Because 'the README''s Set up block has a "# Test it" part'
            $testCommand = @($block.Groups['commands'].Value -split '\r?\n' | ForEach-Object { $_.Trim() } | Where-Object { $_ })
            $testCommand | Should -Not -BeNullOrEmpty

            $ci = @(Get-Content -LiteralPath (Join-Path $repoRoot '.ci/run') | ForEach-Object { $_.Trim() } | Where-Object { $_ -and -not $_.StartsWith('#') })
            $position = -1
            foreach ($command in $testCommand) {
                $next = -1
                for ($i = $position + 1; $i -lt $ci.Count; $i++) {
                    if ($ci[$i].Contains($command)) {
                        $next = $i
                        break
                    }
                }
                $next | Should -BeGreaterThan -1 -Because ".ci/run must run '$command' (after the README's previous test command line)"
                $position = $next
            }
        }
    }
}

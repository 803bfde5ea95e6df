#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }

<#
    Core's WildcardPattern (Core has no PowerShell reference, so -Name filtering has its own matcher) against PowerShell's own
    [WildcardPattern], case-insensitive, on a table of patterns. Our type comes from the built module's Core assembly, loaded
    into a collectible load context of its own, so nothing here depends on the module being imported.

    Known, deliberate differences, each tested on its own below:
    - PowerShell refuses an unclosed '[' and an empty or reversed range; ours matches an unclosed '[' as itself and never throws
      (a name filter should not fail on a name that happens to hold a bracket).
    - PowerShell counts a lone ']' as a wildcard character; ours does not (a name such as 'a]' is looked up exactly).
#>

BeforeDiscovery {
    # Pattern, input. Every row runs through both matchers; the expected answer is PowerShell's.
    $matchCases = @(
        @('prod*', 'Production-EU'), @('PROD*', 'production'), @('*eu', 'prod-EU'), @('*', ''), @('**a', 'xa'), @('a*', 'A')
        @('p?od', 'prod'), @('p?od', 'pod'), @('?', ''), @('crm-?', 'crm-'), @('a?c', 'a\c')
        @('a*b*c', 'aXXbYYc'), @('a*b*c', 'aXXbYY'), @('exact', 'exact'), @('exact', 'exactly'), @('a.b', 'aXb'), @('(a)', '(a)')
        @('[a-c]rm', 'crm'), @('[a-c]rm', 'drm'), @('[A-C]rm', 'brm'), @('[xyz]*', 'Yes'), @('[0-9][0-9]', '42'), @('[0-9][0-9]', '4x')
        @('[a-]', '-'), @('[-a]', '-'), @('[a-]', 'b'), @('[ab]', '['), @('[]a]', ']a'), @('[!a]', 'b'), @('[!a]', '!'), @('[^a]', 'b')
        @('crm [prod]', 'crm p'), @('crm [prod]', 'crm [prod]')
        @('lit`*', 'lit*'), @('lit`*', 'little'), @('lit`?', 'lit?'), @('lit`?', 'lita'), @('a`[b]', 'a[b]'), @('a`[b]', 'ab')
        @('[`]]', ']'), @('[`]a]', 'a'), @('[a`-c]', 'b'), @('[a`-c]', '-'), @('[a`-c]', 'c')
        @('abc`', 'abc`'), @('abc`', 'abc'), @('``', '`'), @('a``b', 'a`b'), @('a]', 'a]')
        @('ÄRZTE*', 'ärzte-crm'), @('I*', 'ı'), @('*ß*', 'SS')
    ) | ForEach-Object { @{ Pattern = $_[0]; Text = $_[1] } }

    $detectionCases = @('prod*', 'a?', '[ab]', 'plain name', 'escaped`*', 'escaped`?', 'a`[b', '``', 'abc`', 'x[') |
        ForEach-Object { @{ Pattern = $_ } }
}

Describe 'WildcardPattern' {
    BeforeAll {
        $corePath = Join-Path $PSScriptRoot '../../out/ConnectionTools/dependencies/ConnectionTools.Core.dll'
        if (-not (Test-Path -LiteralPath $corePath -PathType Leaf)) {
            throw "The module is not built: '$corePath' does not exist. Run ./build.ps1 in the repository root first."
        }

        $loadContext = [System.Runtime.Loader.AssemblyLoadContext]::new('WildcardPattern.Tests', $true)
        $core = $loadContext.LoadFromAssemblyPath([System.IO.Path]::GetFullPath($corePath))
        $ours = $core.GetType('ConnectionTools.Text.WildcardPattern', $true)

        function Test-OurMatch([string] $Pattern, [string] $Text) { $ours.GetMethod('Parse').Invoke($null, @($Pattern)).IsMatch($Text) }
        function Test-OurWildcards([string] $Pattern) { $ours.GetMethod('ContainsWildcards').Invoke($null, @($Pattern)) }
    }

    AfterAll {
        $loadContext.Unload()
    }

    It "matches '<Text>' against '<Pattern>' as PowerShell does" -TestCases $matchCases {
        $expected = [WildcardPattern]::new($Pattern, [System.Management.Automation.WildcardOptions]::IgnoreCase).IsMatch($Text)
        Test-OurMatch $Pattern $Text | Should -Be $expected
    }

    It "finds wildcard characters in '<Pattern>' as PowerShell does" -TestCases $detectionCases {
        Test-OurWildcards $Pattern | Should -Be ([WildcardPattern]::ContainsWildcardCharacters($Pattern))
    }

    It "matches an unclosed bracket in '<Pattern>' as itself, where PowerShell refuses the pattern" -TestCases @(
        @{ Pattern = 'a['; Text = 'a[' }
        @{ Pattern = '[ab'; Text = '[ab' }
        @{ Pattern = 'a[b'; Text = 'a[b' }
    ) {
        { [WildcardPattern]::new($Pattern, [System.Management.Automation.WildcardOptions]::IgnoreCase).IsMatch($Text) } | Should -Throw
        Test-OurMatch $Pattern $Text | Should -BeTrue
    }

    It 'does not count a lone closing bracket as a wildcard, where PowerShell does' {
        [WildcardPattern]::ContainsWildcardCharacters('a]') | Should -BeTrue
        Test-OurWildcards 'a]' | Should -BeFalse
    }
}

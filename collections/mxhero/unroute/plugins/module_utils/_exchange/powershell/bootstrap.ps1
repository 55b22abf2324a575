# Runs one shipped script. The script and its input arrive on stdin as base64 of a
# UTF-8 JSON document, so neither is limited by the 8191-character command line and
# no input value is ever parsed as PowerShell code. JSON goes through .NET 3.5's
# JavaScriptSerializer: Exchange 2010's PowerShell 2.0 has no ConvertFrom-Json.
$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
Add-Type -AssemblyName System.Web.Extensions
$json = New-Object System.Web.Script.Serialization.JavaScriptSerializer
$json.MaxJsonLength = [int]::MaxValue

function Write-Json($v) {
    if ($v -is [Management.Automation.PSObject]) {
        $v = $v.PSObject.BaseObject
    }
    if ($null -eq $v) {
        return 'null'
    }
    if ($v -is [bool]) {
        return $v.ToString().ToLowerInvariant()
    }
    if ($v -is [int] -or $v -is [long] -or $v -is [double]) {
        return $json.Serialize($v)
    }
    if ($v -is [Collections.IDictionary]) {
        $parts = @()
        foreach ($key in $v.Keys) {
            $parts += $json.Serialize([string]$key) + ':' + (Write-Json $v[$key])
        }
        return '{' + ($parts -join ',') + '}'
    }
    if ($v -is [Collections.IEnumerable] -and -not ($v -is [string])) {
        $parts = @()
        foreach ($item in $v) {
            $parts += Write-Json $item
        }
        return '[' + ($parts -join ',') + ']'
    }
    return $json.Serialize([string]$v)
}

$raw = [Console]::In.ReadToEnd()
$doc = $json.DeserializeObject([Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($raw.Trim())))
$names = @('Microsoft.Exchange.Management.PowerShell.SnapIn', 'Microsoft.Exchange.Management.PowerShell.E2010')
if ($doc['snapin'] -and $doc['snapin'] -ne 'auto') {
    $names = @([string]$doc['snapin'])
}
$registered = @(Get-PSSnapin -Registered | ForEach-Object { $_.Name })
$loaded = $null
foreach ($name in $names) {
    if ($registered -contains $name) {
        Add-PSSnapin -Name $name
        $loaded = $name
        break
    }
}
if (-not $loaded) {
    throw ('no Exchange management snap-in ({0}) is registered on {1}' -f ($names -join ', '), $env:COMPUTERNAME)
}
$block = [ScriptBlock]::Create([string]$doc['script'])
$result = & $block $doc['input']
$out = @{ server = $env:COMPUTERNAME; snapin = $loaded; result = $result }
[Console]::Out.Write((Write-Json $out))

# Runs one shipped script. The script and its input arrive on stdin as base64 of a
# UTF-8 JSON document, so neither is limited by the 8191-character command line and
# no input value is ever parsed as PowerShell code.
$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$raw = [Console]::In.ReadToEnd()
$doc = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($raw.Trim())) | ConvertFrom-Json
$names = @('Microsoft.Exchange.Management.PowerShell.SnapIn', 'Microsoft.Exchange.Management.PowerShell.E2010')
if ($doc.snapin -and $doc.snapin -ne 'auto') {
    $names = @([string]$doc.snapin)
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
$block = [ScriptBlock]::Create([string]$doc.script)
$result = & $block $doc.input
$out = @{ server = $env:COMPUTERNAME; snapin = $loaded; result = $result }
[Console]::Out.Write(($out | ConvertTo-Json -Depth 8 -Compress))

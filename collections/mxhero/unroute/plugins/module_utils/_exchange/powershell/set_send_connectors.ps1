# Disables or removes send connectors. Each connector is read again right before
# it is changed and left alone when its smart hosts are no longer the ones the
# plan was made from (someone re-pointed it meanwhile). The first failure stops
# the run and is returned with what was already done.
param($In)

$results = @()
$failure = $null
foreach ($op in @($In.operations)) {
    $identity = [string]$op.identity
    try {
        $connector = @(Get-SendConnector) | Where-Object { [string]$_.Identity -eq $identity } | Select-Object -First 1
        if ($null -eq $connector) {
            $results += @{ identity = $identity; found = $false; changed = $false }
            continue
        }
        $hosts = @($connector.SmartHosts | ForEach-Object { [string]$_ })
        $expected = @($op.smart_hosts | ForEach-Object { [string]$_ })
        if (($hosts -join ';') -ne ($expected -join ';')) {
            $failure = @{ object = $identity; message = ('its smart hosts changed since it was read (now: {0})' -f ($hosts -join ', ')) }
            break
        }
        $changed = $false
        if ($op.action -eq 'remove') {
            Remove-SendConnector -Identity $connector.Identity -Confirm:$false
            $changed = $true
        } elseif ([bool]$connector.Enabled) {
            Set-SendConnector -Identity $connector.Identity -Enabled $false
            $changed = $true
        }
        $results += @{ identity = $identity; found = $true; changed = $changed }
    } catch {
        $failure = @{ object = $identity; message = $_.Exception.Message }
        break
    }
}

@{
    results = $results
    failure = $failure
}

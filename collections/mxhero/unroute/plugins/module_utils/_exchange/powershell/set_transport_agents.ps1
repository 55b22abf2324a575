# Disables or uninstalls transport agents on this server, then restarts the
# transport services whose agents changed. Each agent is read again right before
# it is changed; the first failure stops the run and is returned with what was
# already done, so the caller never reports a half-applied change as success.
# Input is a dictionary (JavaScriptSerializer), read with ['key'].
param($In)

$perService = (Get-Command Get-TransportAgent).Parameters.ContainsKey('TransportService')
# The Windows service that loads each transport service's agents.
$windowsService = @{
    Hub = 'MSExchangeTransport'
    Edge = 'MSExchangeTransport'
    FrontEnd = 'MSExchangeFrontEndTransport'
    MailboxSubmission = 'MSExchangeSubmission'
    MailboxDelivery = 'MSExchangeDelivery'
}
# A restart owed is noted here before each change and cleared once the service
# restarted, so a run after a failed (or skipped) restart still knows it is owed:
# Get-TransportAgent shows the configuration, not what the running service loaded.
$markerKey = 'HKLM:\SOFTWARE\mxhero-unroute'
$marked = @()
$results = @()
$touched = @()
$failure = $null

foreach ($op in @($In['operations'])) {
    $identity = [string]$op['identity']
    $service = [string]$op['transport_service']
    $scope = @{}
    if ($perService) {
        $scope['TransportService'] = $service
    }
    try {
        # Listing and comparing avoids handing the name to -Identity parsing twice.
        $agent = @(Get-TransportAgent @scope) | Where-Object { [string]$_.Identity -eq $identity } | Select-Object -First 1
        if ($null -eq $agent) {
            $results += @{ identity = $identity; transport_service = $service; found = $false; changed = $false }
            continue
        }
        $before = @{ enabled = [bool]$agent.Enabled; priority = [int]$agent.Priority }
        $changed = $false
        $restartName = $windowsService[$service]
        if (([bool]$agent.Enabled -or $op['action'] -eq 'uninstall') -and ($marked -notcontains $restartName)) {
            if (-not (Test-Path -Path $markerKey)) {
                New-Item -Path $markerKey -Force | Out-Null
            }
            Set-ItemProperty -Path $markerKey -Name $restartName -Value ([DateTime]::UtcNow.ToString('o'))
            $marked += $restartName
        }
        if ([bool]$agent.Enabled) {
            Disable-TransportAgent -Identity $identity @scope -Confirm:$false
            $changed = $true
        }
        if ($op['action'] -eq 'uninstall') {
            Uninstall-TransportAgent -Identity $identity @scope -Confirm:$false
            $changed = $true
        }
        $results += @{ identity = $identity; transport_service = $service; found = $true; changed = $changed; before = $before }
        if ($changed -and ($touched -notcontains $service)) {
            $touched += $service
        }
    } catch {
        $failure = @{ object = $identity; transport_service = $service; message = $_.Exception.Message }
        break
    }
}

$restarted = @()
$known = @($windowsService.Values)
# Markers the caller found satisfied (the service restarted since) are only cleared.
foreach ($name in @($In['clear'] | Where-Object { $known -contains $_ })) {
    Remove-ItemProperty -Path $markerKey -Name $name -ErrorAction SilentlyContinue
}
if ($In['restart']) {
    $names = @($touched | ForEach-Object { $windowsService[$_] })
    $names += @($In['owed'] | Where-Object { $known -contains $_ })
    $names = @($names | Select-Object -Unique)
    foreach ($name in $names) {
        try {
            Restart-Service -Name $name -Force
            $restarted += $name
            if (Test-Path -Path $markerKey) {
                Remove-ItemProperty -Path $markerKey -Name $name -ErrorAction SilentlyContinue
            }
        } catch {
            if ($null -eq $failure) {
                $failure = @{ object = $name; transport_service = $null; message = $_.Exception.Message }
            }
        }
    }
}

# Tidying the empty key must not hide the results of changes already made.
try {
    if ((Test-Path -Path $markerKey) -and @((Get-Item -Path $markerKey).GetValueNames()).Count -eq 0) {
        Remove-Item -Path $markerKey
    }
} catch {
}

@{
    results = $results
    touched_services = $touched
    restarted = $restarted
    failure = $failure
}

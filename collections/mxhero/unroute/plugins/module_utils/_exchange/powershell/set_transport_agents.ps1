# Disables or uninstalls transport agents on this server, then restarts the
# transport services whose agents changed. Each agent is read again right before
# it is changed; the first failure stops the run and is returned with what was
# already done, so the caller never reports a half-applied change as success.
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
$results = @()
$touched = @()
$failure = $null

foreach ($op in @($In.operations)) {
    $identity = [string]$op.identity
    $service = [string]$op.transport_service
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
        if ([bool]$agent.Enabled) {
            Disable-TransportAgent -Identity $identity @scope -Confirm:$false
            $changed = $true
        }
        if ($op.action -eq 'uninstall') {
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
if ($In.restart) {
    $names = @($touched | ForEach-Object { $windowsService[$_] } | Select-Object -Unique)
    foreach ($name in $names) {
        try {
            Restart-Service -Name $name -Force
            $restarted += $name
        } catch {
            if ($null -eq $failure) {
                $failure = @{ object = $name; transport_service = $null; message = $_.Exception.Message }
            }
        }
    }
}

@{
    results = $results
    touched_services = $touched
    restarted = $restarted
    failure = $failure
}

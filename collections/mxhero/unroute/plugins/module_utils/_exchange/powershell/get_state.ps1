# Reads in one round trip what the transport agent engine decides on: this server's
# transport agents per transport service and the restarts an earlier run owes.
# Only the *-TransportAgent cmdlets, the supported use of the snap-in; which
# transport services run here is read from the Windows services installed
# (Exchange data such as Get-ExchangeServer goes through remote PowerShell).
# Input is a dictionary (JavaScriptSerializer), read with ['key'].
param($In)

# Exchange 2010 has no -TransportService: one agent list per server.
$perService = (Get-Command Get-TransportAgent).Parameters.ContainsKey('TransportService')
$transportNames = @('MSExchangeTransport', 'MSExchangeFrontEndTransport', 'MSExchangeSubmission', 'MSExchangeDelivery', 'ADAM_MSExchange')
$installed = @(Get-Service -Name $transportNames -ErrorAction SilentlyContinue | ForEach-Object { [string]$_.Name })
$services = @()
# An Edge Transport server runs its own AD LDS instance (ADAM_MSExchange).
if ($installed -contains 'MSExchangeTransport') {
    if ($installed -contains 'ADAM_MSExchange') {
        $services += 'Edge'
    } else {
        $services += 'Hub'
    }
}
if ($perService -and ($installed -contains 'MSExchangeFrontEndTransport')) {
    $services += 'FrontEnd'
}
if ($perService -and ($installed -contains 'MSExchangeSubmission')) {
    $services += 'MailboxSubmission'
}
if ($perService -and ($installed -contains 'MSExchangeDelivery')) {
    $services += 'MailboxDelivery'
}
$wanted = @($In['transport_services'] | Where-Object { $_ })
if ($wanted.Count -gt 0) {
    $services = @($services | Where-Object { $wanted -contains $_ })
}

$agents = @()
if ($In['agents']) {
    foreach ($service in $services) {
        if ($perService) {
            $found = @(Get-TransportAgent -TransportService $service)
        } else {
            $found = @(Get-TransportAgent)
        }
        foreach ($agent in $found) {
            $agents += @{
                identity = [string]$agent.Identity
                transport_service = $service
                enabled = [bool]$agent.Enabled
                priority = [int]$agent.Priority
                factory = [string]$agent.TransportAgentFactory
                assembly_path = [string]$agent.AssemblyPath
            }
        }
    }
}

# Restarts an earlier run owed: set_transport_agents.ps1 notes the time of each agent
# change under this key and clears it once the Windows service restarted. A service
# whose process started after that time has been restarted meanwhile (by hand).
$markerKey = 'HKLM:\SOFTWARE\mxhero-unroute'
$restarts = @()
if ($In['agents'] -and (Test-Path -Path $markerKey)) {
    $key = Get-Item -Path $markerKey
    foreach ($name in @('MSExchangeTransport', 'MSExchangeFrontEndTransport', 'MSExchangeSubmission', 'MSExchangeDelivery')) {
        $value = $key.GetValue($name)
        if ($null -eq $value) {
            continue
        }
        $since = [DateTime]::Parse([string]$value, [Globalization.CultureInfo]::InvariantCulture, [Globalization.DateTimeStyles]::RoundtripKind)
        $done = $false
        $service = Get-WmiObject -Class Win32_Service -Filter "Name='$name'"
        if ($service -and $service.ProcessId) {
            $process = Get-Process -Id $service.ProcessId -ErrorAction SilentlyContinue
            if ($process -and ($process.StartTime.ToUniversalTime() -gt $since)) {
                $done = $true
            }
        }
        $restarts += @{ service = $name; since = [string]$value; done = $done }
    }
}

@{
    server = [string]$env:COMPUTERNAME
    per_service = $perService
    transport_services = $services
    agents = $agents
    restart_markers = $restarts
}

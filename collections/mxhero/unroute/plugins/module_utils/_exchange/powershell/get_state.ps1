# Reads in one round trip what the engines decide on: this server's transport
# agents per transport service, the organisation's send connectors and this
# server's receive connectors. Read-only.
param($In)

$server = Get-ExchangeServer -Identity $env:COMPUTERNAME
# Exchange 2010 has no -TransportService: one agent list per server.
$perService = (Get-Command Get-TransportAgent).Parameters.ContainsKey('TransportService')
$services = @()
if ($server.IsEdgeServer) {
    $services += 'Edge'
}
if ($server.IsHubTransportServer) {
    $services += 'Hub'
}
if ($perService -and $server.IsFrontendTransportServer) {
    $services += 'FrontEnd'
}
if ($perService -and $server.IsMailboxServer) {
    $services += 'MailboxSubmission'
    $services += 'MailboxDelivery'
}
$wanted = @($In.transport_services | Where-Object { $_ })
if ($wanted.Count -gt 0) {
    $services = @($services | Where-Object { $wanted -contains $_ })
}

$agents = @()
if ($In.agents) {
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

$send = @()
if ($In.send_connectors) {
    foreach ($connector in @(Get-SendConnector)) {
        $send += @{
            name = [string]$connector.Name
            identity = [string]$connector.Identity
            enabled = [bool]$connector.Enabled
            address_spaces = @($connector.AddressSpaces | ForEach-Object { [string]$_ })
            smart_hosts = @($connector.SmartHosts | ForEach-Object { [string]$_ })
            dns_routing_enabled = [bool]$connector.DNSRoutingEnabled
            source_transport_servers = @($connector.SourceTransportServers | ForEach-Object { [string]$_ })
            fqdn = [string]$connector.Fqdn
            port = [int]$connector.Port
        }
    }
}

$receive = @()
if ($In.receive_connectors) {
    foreach ($connector in @(Get-ReceiveConnector -Server $env:COMPUTERNAME)) {
        $receive += @{
            name = [string]$connector.Name
            identity = [string]$connector.Identity
            enabled = [bool]$connector.Enabled
            bindings = @($connector.Bindings | ForEach-Object { [string]$_ })
            remote_ip_ranges = @($connector.RemoteIPRanges | ForEach-Object { [string]$_ })
        }
    }
}

@{
    server = [string]$server.Name
    fqdn = [string]$server.Fqdn
    version = [string]$server.AdminDisplayVersion
    per_service = $perService
    transport_services = $services
    agents = $agents
    send_connectors = $send
    receive_connectors = $receive
}

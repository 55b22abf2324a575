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

# Restarts an earlier run owed: set_transport_agents.ps1 notes the time of each agent
# change under this key and clears it once the Windows service restarted. A service
# whose process started after that time has been restarted meanwhile (by hand).
$markerKey = 'HKLM:\SOFTWARE\mxhero-unroute'
$restarts = @()
if ($In.agents -and (Test-Path -Path $markerKey)) {
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
            # What New-SendConnector needs to put the connector back as it was; a property
            # this version lacks reads as $null, which casts to the cmdlet's default.
            require_tls = [bool]$connector.RequireTLS
            tls_auth_level = [string]$connector.TlsAuthLevel
            tls_domain = [string]$connector.TlsDomain
            tls_certificate_name = [string]$connector.TlsCertificateName
            max_message_size = [string]$connector.MaxMessageSize
            smart_host_auth_mechanism = [string]$connector.SmartHostAuthMechanism
            protocol_logging_level = [string]$connector.ProtocolLoggingLevel
            frontend_proxy_enabled = [bool]$connector.FrontendProxyEnabled
            use_external_dns_servers_enabled = [bool]$connector.UseExternalDNSServersEnabled
            ignore_starttls = [bool]$connector.IgnoreSTARTTLS
            domain_secure_enabled = [bool]$connector.DomainSecureEnabled
            connection_inactivity_timeout = [string]$connector.ConnectionInactivityTimeOut
            comment = [string]$connector.Comment
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
    restart_markers = $restarts
    send_connectors = $send
    receive_connectors = $receive
}

# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # Connection to one Exchange server over WinRM (shared by every exchange_* module).
    DOCUMENTATION = r'''
options:
  host:
    description:
      - Name or address of the Exchange server (its WinRM listener).
      - Transport agents and receive connectors are per server, so run the task once per transport server.
    type: str
    required: true
  port:
    description:
      - WinRM port. Default C(5985) for I(scheme=http), C(5986) for I(scheme=https).
    type: int
  scheme:
    description:
      - C(http) or C(https). Default C(https) for I(transport=basic) and I(transport=certificate), else C(http).
      - Over C(http), NTLM, Kerberos and CredSSP encrypt every message (WinRM message encryption).
    type: str
    choices: [http, https]
  transport:
    description:
      - WinRM authentication. C(kerberos) needs the C(pykerberos) package (C(pywinrm[kerberos])) and C(credssp) the
        C(requests-credssp) package on the controller.
      - With C(kerberos), I(username) is C(user@REALM). With I(password) the module gets its own ticket (through the
        C(gssapi) package, into a private credential cache); without it, it uses the controller's credential cache
        (C(KRB5CCNAME), after C(kinit)). Realms and KDCs come from the standard krb5 configuration (C(KRB5_CONFIG),
        else C(/etc/krb5.conf)).
      - Kerberos asks for a ticket to C(HTTP/<host>), so give I(host) as the server's DNS name, not its IP address
        (or set I(kerberos_hostname_override)). Over C(https) the channel binding (Extended Protection, on by default
        since Exchange 2019 CU14) is always sent, for NTLM and Kerberos alike.
    type: str
    default: ntlm
    choices: [ntlm, kerberos, credssp, basic, certificate]
  username:
    description:
      - Account allowed to run Exchange cmdlets on the server, for example C(CONTOSO\\exadmin).
    type: str
  password:
    description:
      - Password of I(username). Never shown in results or errors.
    type: str
  validate_certs:
    description:
      - Verify the server's TLS certificate for I(scheme=https).
    type: bool
    default: true
  ca_path:
    description:
      - CA bundle (PEM) that issued the server's certificate, when it is not in the system store.
    type: path
  client_cert:
    description:
      - Client certificate (PEM) for I(transport=certificate).
    type: path
  client_key:
    description:
      - Key (PEM) of I(client_cert).
    type: path
  message_encryption:
    description:
      - WinRM message encryption; C(auto) encrypts over C(http) when the transport can.
    type: str
    default: auto
    choices: [auto, always, never]
  read_timeout:
    description:
      - Seconds to wait for one HTTP answer; must exceed I(operation_timeout).
    type: int
    default: 30
  operation_timeout:
    description:
      - Seconds the server may hold one WS-Man operation before answering with an operation timeout.
    type: int
    default: 20
  command_timeout:
    description:
      - Seconds one PowerShell run may take in total before the module gives up.
    type: int
    default: 300
  exchange_snapin:
    description:
      - Exchange management snap-in to load. C(auto) picks the one the server has registered
        (C(Microsoft.Exchange.Management.PowerShell.SnapIn) for Exchange 2013 to SE, C(...E2010) for 2010).
    type: str
    default: auto
    choices: [auto, '2013', '2010']
  domain:
    description:
      - Customer mail domain this server belongs to; named in errors and warnings. Defaults to I(host).
    type: str
  psrp_port:
    description:
      - Port of Exchange's remote PowerShell (the C(/PowerShell/) virtual directory in IIS), used for send and
        receive connectors and server data. Default C(80) for I(psrp_scheme=http), C(443) for C(https).
    type: int
  psrp_scheme:
    description:
      - C(http) or C(https) for Exchange's remote PowerShell. Default C(https) when I(psrp_transport=basic), else
        C(http) (Kerberos and NTLM encrypt every message there).
    type: str
    choices: [http, https]
  psrp_transport:
    description:
      - Authentication to Exchange's remote PowerShell. Default follows I(transport) (C(basic) -> C(basic),
        C(kerberos) -> C(kerberos), otherwise C(negotiate), which uses Kerberos where it can and NTLM else).
      - C(basic) only over C(https), and only where the PowerShell virtual directory allows it.
      - C(kerberos) and C(negotiate) get their own ticket from I(password), or use the controller's credential cache
        (C(KRB5CCNAME)) when no password is given; the service principal is C(HTTP/<host>) (IIS).
    type: str
    choices: [negotiate, kerberos, ntlm, basic]
  kerberos_hostname_override:
    description:
      - Host name whose service principal (C(HTTP/<name>)) Kerberos asks a ticket for, when I(host) is an IP address
        or an alias that has no SPN of its own. Used by I(transport=kerberos) and I(psrp_transport=kerberos) or
        C(negotiate).
    type: str
    version_added: 0.3.0
notes:
  - Send connectors, receive connectors and server data go through Exchange's remote PowerShell
    (C(http(s)://SERVER/PowerShell/), configuration C(Microsoft.Exchange)), the way Microsoft supports for Exchange
    cmdlets. Only cmdlets with typed parameters are sent (the endpoint allows no script), and they run under the
    server's RBAC, so no credential has to travel a second hop.
  - Transport agents go through WinRM with the Exchange snap-in loaded, the one supported use of the snap-in
    (FrontEnd agents must be managed on the server itself); the PowerShell runs from files shipped in the
    collection, with the script and its input as data on stdin.
  - The transport agent path needs Windows PowerShell 2.0 or later with .NET 3.5 on the server (Exchange 2010
    included); JSON is read and written with .NET's JavaScriptSerializer, not ConvertFrom-Json.
requirements:
  - pywinrm >= 0.5 (with pyspnego / requests-ntlm for NTLM), for transport agents
  - pypsrp >= 0.8, for connectors and server data (Exchange's remote PowerShell)
  - for Kerberos, pykerberos (pywinrm's kerberos transport), gssapi and krb5 (pyspnego's Kerberos), and MIT Kerberos
    on the controller
'''

    ACTIONGROUP = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/mxhero.unroute.exchange) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - mxhero.unroute.exchange
'''

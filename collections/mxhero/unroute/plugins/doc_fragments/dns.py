# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  zone:
    description:
      - The DNS zone (domain) to work on, for example V(example.com).
      - Checked before any DNS traffic (empty labels, spaces, labels over 63 and names over 255 octets are
        refused); the server must answer authoritatively for it.
    type: str
    required: true
  record:
    description:
      - Fully qualified owner name inside O(zone) to work on.
      - Defaults to the zone apex.
      - A name below a zone cut (a sub-zone delegated with NS records) is refused, naming the child zone to
        give as O(zone) instead.
    type: str
  server:
    description:
      - Name server to send queries and RFC 2136 updates to (address or host name), with O(provider=rfc2136).
      - A host name is resolved with the system resolver before anything else; one that does not resolve is
        refused. With several addresses, TCP uses the first that accepts a connection, UDP the first.
      - Defaults to the zone's primary, the SOA MNAME found with the system resolver.
    type: str
  port:
    description:
      - Port of O(server), 1 to 65535.
    type: int
    default: 53
  key_name:
    description:
      - Name of the TSIG key used to sign queries and updates.
    type: str
  key_secret:
    description:
      - Base64 secret of the TSIG key O(key_name). Required with O(key_name); refused when not base64.
    type: str
  key_algorithm:
    description:
      - TSIG algorithm of the key. BIND's C(tsig-keygen) makes hmac-sha256 keys.
      - One of V(hmac-md5), V(hmac-sha1), V(hmac-sha224), V(hmac-sha256), V(hmac-sha384), V(hmac-sha512)
        (case does not matter); anything else is refused, naming the domain, before any DNS traffic.
    type: str
    default: hmac-sha256
  protocol:
    description:
      - Transport for queries and updates.
    type: str
    default: tcp
    choices: [tcp, udp]
  timeout:
    description:
      - Seconds to wait for each answer from O(server); above 0.
      - An update whose answer does not come within this time is not re-sent; the RRset is read again to
        tell whether it took effect.
    type: float
    default: 10
  provider:
    description:
      - Where the zone is hosted and how it is changed. The engine (what is mxHero's, what goes, refusals,
        findings) is the same for every provider; only reading and writing differ.
      - V(rfc2136) - DNS UPDATE with a TSIG key (BIND, Knot, PowerDNS with C(dnsupdate=yes), Windows DNS),
        with O(server), O(key_name), O(key_secret).
      - V(route53) - Amazon Route 53 through boto3, with O(aws_access_key), O(aws_secret_key), O(hosted_zone_id)...
      - V(cloudflare) - Cloudflare's API v4, with O(cloudflare_api_token).
      - V(powerdns) - the PowerDNS Authoritative HTTP API, with O(powerdns_api_url) and O(powerdns_api_key).
      - V(manual) - a host with no record API we can use (Microsoft 365-hosted DNS, Squarespace, GoDaddy
        without API access, and for now Azure DNS and Google Cloud DNS); the records are read through
        O(server) or the system resolver, nothing is written, and every planned change becomes a finding
        with action V(manual) and C(manual_steps) saying where to click, which record to delete or edit and
        what to keep (see O(dns_host)).
      - Every write says in its finding's C(guarantee) what it promises when someone else changes the same
        records between the read and the write. V(atomic_cas) (rfc2136, route53) - the service refuses the
        write and the module reads again. V(read_verify) (cloudflare, powerdns, which have no version token) - the
        records are compared right before the write and read again after it; on Cloudflare only records read
        are deleted, by id, so another writer's records survive; on the PowerDNS API a write in the short
        window between that comparison and the write can be lost, use V(rfc2136) against the same server for
        the hard guarantee.
    type: str
    default: rfc2136
    choices: [rfc2136, route53, cloudflare, powerdns, manual]
  aws_access_key:
    description:
      - Route 53 access key id. Falls back to E(AWS_ACCESS_KEY_ID), E(AWS_ACCESS_KEY), then to boto3's own
        chain (O(aws_profile), instance role...).
    type: str
  aws_secret_key:
    description:
      - Route 53 secret access key. Falls back to E(AWS_SECRET_ACCESS_KEY), E(AWS_SECRET_KEY).
    type: str
  aws_session_token:
    description:
      - Session token of temporary credentials. Falls back to E(AWS_SESSION_TOKEN), E(AWS_SECURITY_TOKEN).
    type: str
  aws_profile:
    description:
      - Profile of the AWS config files to take credentials from. Falls back to E(AWS_PROFILE).
    type: str
  aws_region:
    description:
      - Region to sign requests for; Route 53 is global, so this rarely matters. Falls back to E(AWS_REGION),
        E(AWS_DEFAULT_REGION); V(us-east-1) when none.
    type: str
  aws_endpoint_url:
    description:
      - Route 53 endpoint, for a VPC endpoint or a test double. Falls back to E(AWS_ENDPOINT_URL_ROUTE_53),
        E(AWS_ENDPOINT_URL).
    type: str
  hosted_zone_id:
    description:
      - Route 53 hosted zone id (V(Z...) or V(/hostedzone/Z...)). When not given the zone is found by its name;
        two hosted zones of that name are refused, naming their ids.
    type: str
  private_zone:
    description:
      - Use the private hosted zone of that name instead of the public one (Route 53).
    type: bool
    default: false
  cloudflare_api_token:
    description:
      - Cloudflare API token with Zone Read and DNS Edit on the zone. Falls back to E(CLOUDFLARE_API_TOKEN).
        Required with O(provider=cloudflare).
    type: str
  cloudflare_api_url:
    description:
      - Base URL of Cloudflare's API v4.
    type: str
    default: https://api.cloudflare.com/client/v4
  powerdns_api_url:
    description:
      - Base URL of the PowerDNS Authoritative web server, for example V(http://ns1.example.net:8081); the module
        adds C(/api/v1). Falls back to E(PDNS_SERVER_URL), E(PDNS_API_URL). Required with O(provider=powerdns).
    type: str
  powerdns_api_key:
    description:
      - The server's C(api-key). Falls back to E(PDNS_API_KEY). Required with O(provider=powerdns).
    type: str
  powerdns_server_id:
    description:
      - Server id in the API path; PowerDNS Authoritative calls itself V(localhost).
    type: str
    default: localhost
  dns_host:
    description:
      - With O(provider=manual), whose control panel the steps name. The estate inventory plugin sets it
        (C(unroute_dns_host)) from the domain's NS records.
    type: str
    default: other
    choices: [microsoft365, squarespace, godaddy, azure, google_cloud, other]
requirements:
  - dnspython >= 2.6
  - boto3 (with O(provider=route53))
  - requests (with O(provider=cloudflare) or O(provider=powerdns))
"""

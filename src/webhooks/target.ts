import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

// A merchant's webhook URL must not make the service call into its own network, nor anywhere that
// is not the public Internet. Rather than list the forbidden networks by hand (a list that missed
// the documentation, benchmarking, NAT64 and tunnelling ranges), only what ipaddr.js classifies as
// ordinary 'unicast' is allowed: every IANA special-purpose range it knows by name is refused.
//
// ipaddr.js lets two kinds of IPv6 address fall through as 'unicast' that are not global, so
// IPv6 must also lie in 2000::/3, the only block IANA allocates for global unicast. That refuses
// IPv4-compatible ::a.b.c.d (::/96, which can reach IPv4 over tunnels), the dummy prefix
// 100:0:0:1::/64 (RFC 9780) and the unallocated space, and keeps refusing future IANA additions
// outside 2000::/3 that this ipaddr.js version does not name yet.
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];

export class RefusedTargetError extends Error {
  override name = 'RefusedTargetError';
}

// ipaddr.js range names in words a merchant reads in the delivery log; others are shown as named.
const RANGE_WORDS: Record<string, string> = {
  carrierGradeNat: 'carrier-grade NAT',
  linkLocal: 'link-local',
  uniqueLocal: 'unique local',
  deprecatedSiteLocal: 'site-local',
  rfc6052: 'NAT64',
  rfc6145: 'IPv4-translated',
  teredo: 'Teredo',
  discard: 'discard-only',
};

/**
 * Why an IP address may not be called, as the kind of network it is in ("loopback", "reserved"),
 * or undefined when it is a globally routable unicast address. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is judged by
 * the IPv4 address inside, which is where the connection goes. Not an IP address: undefined.
 */
export function forbiddenAddressReason(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(family === 6 ? canonicalIPv6(address) : address);
  } catch {
    // Node calls it an address but ipaddr.js cannot read it: refuse rather than guess.
    return 'unrecognised';
  }
  if (parsed instanceof ipaddr.IPv6 && parsed.isIPv4MappedAddress()) parsed = parsed.toIPv4Address();
  const range = parsed.range();
  if (range !== 'unicast') return RANGE_WORDS[range] ?? range;
  if (parsed instanceof ipaddr.IPv6 && !parsed.match(GLOBAL_UNICAST_V6)) return 'outside global unicast 2000::/3';
  return undefined;
}

/** True for an IP address that is not globally routable unicast (private, loopback, reserved…). */
export function isForbiddenAddress(address: string): boolean {
  return forbiddenAddressReason(address) !== undefined;
}

/**
 * The form Node connects to. ipaddr.js reads "::a.b.c.d" as the IPv4-mapped ::ffff:a.b.c.d, but
 * Node (like RFC 4291) reads it as the IPv4-compatible ::a.b.c.d; the WHATWG URL serializer
 * writes IPv6 in hex only, which both read alike. A zone (%eth0) only ever follows a link-local
 * address, which is refused whatever the zone, and URL does not accept it: it is dropped.
 */
function canonicalIPv6(address: string): string {
  return new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
}

/** Why a URL may not be called, judged without DNS: local names and non-public IP literals. */
export function literalPrivateTargetReason(url: string): string | undefined {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is a local address`;
  const reason = forbiddenAddressReason(host);
  return reason && `${host} is not a public address (${reason})`;
}

/**
 * A DNS lookup for the HTTP client that fails when a name resolves to a non-public address. It
 * runs as the connection is made, so the address checked is the address connected to: a name that
 * re-points inside the network between a check and the request (DNS rebinding) is still refused.
 */
export function guardedLookup(resolve: typeof dnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options as LookupOptions, (error, address, family) => {
      if (error) return callback(error, address as string, family);
      const addresses: LookupAddress[] = Array.isArray(address) ? address : [{ address, family: family ?? 4 }];
      for (const entry of addresses) {
        const reason = forbiddenAddressReason(entry.address);
        if (reason) return callback(new RefusedTargetError(`${hostname} resolves to ${entry.address}, not a public address (${reason})`), '', 4);
      }
      return callback(null, address as string, family);
    });
  };
}

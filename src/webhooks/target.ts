import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

// Loopback, private, link-local (cloud metadata), carrier-grade NAT and unspecified addresses:
// a merchant's webhook URL must not make the service call into its own network.
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  PRIVATE.addSubnet(network, prefix, 'ipv6');
}

export class RefusedTargetError extends Error {
  override name = 'RefusedTargetError';
}

export function isPrivateAddress(address: string): boolean {
  const mappedV4 = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i)?.[1];
  if (mappedV4) return PRIVATE.check(mappedV4, 'ipv4');
  const family = isIP(address);
  return family !== 0 && PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** Why a URL may not be called, judged without DNS: local names and private IP literals. */
export function literalPrivateTargetReason(url: string): string | undefined {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is a local address`;
  if (isPrivateAddress(host)) return `${host} is a private address`;
  return undefined;
}

/**
 * A DNS lookup for the HTTP client that fails when a name resolves to a private address. It runs
 * as the connection is made, so the address checked is the address connected to: a name that
 * re-points inside the network between a check and the request (DNS rebinding) is still refused.
 */
export function guardedLookup(resolve: typeof dnsLookup = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, options as LookupOptions, (error, address, family) => {
      if (error) return callback(error, address as string, family);
      const addresses: LookupAddress[] = Array.isArray(address) ? address : [{ address, family: family ?? 4 }];
      const blocked = addresses.find((entry) => isPrivateAddress(entry.address));
      if (blocked) {
        return callback(new RefusedTargetError(`${hostname} resolves to the private address ${blocked.address}`), '', 4);
      }
      return callback(null, address as string, family);
    });
  };
}

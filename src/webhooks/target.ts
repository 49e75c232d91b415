import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

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

export function isPrivateAddress(address: string): boolean {
  const mappedV4 = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i)?.[1];
  if (mappedV4) return PRIVATE.check(mappedV4, 'ipv4');
  const family = isIP(address);
  return family !== 0 && PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function hostOf(url: string): string {
  return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Why a URL may not be called, judged without DNS: local names and private IP literals. */
export function literalPrivateTargetReason(url: string): string | undefined {
  const host = hostOf(url);
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is a local address`;
  if (isPrivateAddress(host)) return `${host} is a private address`;
  return undefined;
}

/**
 * Why a webhook URL may not be called, or undefined when it may. The host is resolved at each
 * delivery, so a name that later points inside the network (DNS rebinding) is refused then.
 */
export async function privateTargetReason(url: string): Promise<string | undefined> {
  const literal = literalPrivateTargetReason(url);
  const host = hostOf(url);
  if (literal || isIP(host)) return literal;
  const blocked = (await lookup(host, { all: true })).map((entry) => entry.address).find(isPrivateAddress);
  return blocked ? `${host} resolves to the private address ${blocked}` : undefined;
}

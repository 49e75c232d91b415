import type { LookupAddress, lookup } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { RefusedTargetError, forbiddenAddressReason, guardedLookup, isForbiddenAddress, literalPrivateTargetReason } from '../../src/webhooks/target.js';

// One address (at least) in every IANA special-purpose range a webhook must never reach, with the
// kind of network the refusal names.
const FORBIDDEN: [address: string, reason: string][] = [
  ['0.1.2.3', 'unspecified'], // 0.0.0.0/8 "this network"
  ['0.0.0.0', 'unspecified'],
  ['10.1.2.3', 'private'], // 10/8
  ['100.64.0.1', 'carrier-grade NAT'], // 100.64/10
  ['100.127.255.254', 'carrier-grade NAT'],
  ['127.0.0.1', 'loopback'], // 127/8
  ['127.255.0.9', 'loopback'],
  ['169.254.169.254', 'link-local'], // 169.254/16, cloud metadata
  ['172.16.0.1', 'private'], // 172.16/12
  ['172.31.255.255', 'private'],
  ['192.0.0.8', 'reserved'], // 192.0.0.0/24 IETF protocol assignments
  ['192.0.2.10', 'reserved'], // TEST-NET-1
  ['192.88.99.1', 'reserved'], // 6to4 relay anycast
  ['192.168.1.1', 'private'], // 192.168/16
  ['198.18.0.1', 'reserved'], // 198.18/15 benchmarking
  ['198.19.255.1', 'reserved'],
  ['198.51.100.7', 'reserved'], // TEST-NET-2
  ['203.0.113.9', 'reserved'], // TEST-NET-3
  ['224.0.0.1', 'multicast'], // 224/4
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'], // 240/4
  ['255.255.255.255', 'broadcast'],
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback'], // IPv4-mapped: the IPv4 inside is judged
  ['::ffff:7f00:1', 'loopback'], // the same, written in hex
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::127.0.0.1', 'outside global unicast 2000::/3'], // IPv4-compatible, not mapped (ipaddr.js misreads it)
  ['::93.184.216.34', 'outside global unicast 2000::/3'],
  ['::ffff:0:7f00:1', 'IPv4-translated'], // ::ffff:0:0/96
  ['64:ff9b::7f00:1', 'NAT64'], // 64:ff9b::/96
  ['64:ff9b::93.184.216.34', 'NAT64'],
  ['64:ff9b:1::1', 'NAT64'], // 64:ff9b:1::/48
  ['2002:7f00:1::1', '6to4'], // 2002::/16
  ['2001::1', 'Teredo'], // 2001::/32
  ['2001:db8::1', 'reserved'], // documentation
  ['2001:2::1', 'benchmarking'], // 2001:2::/48
  ['3fff::1', 'reserved'], // documentation (RFC 9637)
  ['fc00::1', 'unique local'], // fc00::/7
  ['fd12:3456::1', 'unique local'],
  ['fe80::1', 'link-local'], // fe80::/10
  ['fe80::1%lo', 'link-local'], // with a zone
  ['febf::1', 'link-local'],
  ['fec0::1', 'site-local'], // fec0::/10, deprecated
  ['ff02::1', 'multicast'], // ff00::/8
  ['ff0e::1', 'multicast'],
  ['100::1', 'discard-only'], // 100::/64
  ['100:0:0:1::1', 'outside global unicast 2000::/3'], // dummy prefix (RFC 9780), unnamed by ipaddr.js
  ['4000::1', 'outside global unicast 2000::/3'], // unallocated
];

const PUBLIC = ['93.184.216.34', '8.8.8.8', '1.1.1.1', '100.63.255.255', '100.128.0.1', '172.32.0.1', '198.20.0.1', '223.255.255.254', '::ffff:93.184.216.34', '2606:4700::1111', '2a00:1450:4001::200e', '2001:4860:4860::8888'];

describe('webhook target addresses: only globally routable unicast is allowed', () => {
  it.each(FORBIDDEN)('%s is refused as %s', (address, reason) => {
    expect(forbiddenAddressReason(address)).toBe(reason);
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(PUBLIC)('%s is allowed', (address) => {
    expect(forbiddenAddressReason(address)).toBeUndefined();
    expect(isForbiddenAddress(address)).toBe(false);
  });

  it('leaves host names to the DNS guard', () => {
    expect(isForbiddenAddress('hooks.example.com')).toBe(false);
  });

  it('judges URL literals in every spelling the URL parser turns into an address', () => {
    expect(literalPrivateTargetReason('http://127.0.0.1:9000/hook')).toBe('127.0.0.1 is not a public address (loopback)');
    // Decimal, hex and short IPv4 forms are normalised by URL before they are judged.
    expect(literalPrivateTargetReason('http://2130706433/')).toBe('127.0.0.1 is not a public address (loopback)');
    expect(literalPrivateTargetReason('http://0x7f.1/')).toBe('127.0.0.1 is not a public address (loopback)');
    expect(literalPrivateTargetReason('http://[::ffff:169.254.169.254]/latest')).toMatch(/link-local/);
    expect(literalPrivateTargetReason('http://[fec0::1]/')).toMatch(/site-local/);
    expect(literalPrivateTargetReason('https://api.localhost/hook')).toBe('api.localhost is a local address');
    expect(literalPrivateTargetReason('https://93.184.216.34/hook')).toBeUndefined();
    expect(literalPrivateTargetReason('https://[2606:4700::1111]/hook')).toBeUndefined();
    expect(literalPrivateTargetReason('https://hooks.example.com/hook')).toBeUndefined();
  });
});

describe('the DNS guard', () => {
  // DNS is the one thing faked: no public resolver is reachable from the test machine.
  const answering = (addresses: LookupAddress[]) =>
    ((_host: string, _options: unknown, callback: (...args: unknown[]) => void) => callback(null, addresses)) as unknown as typeof lookup;
  const ask = (resolve: typeof lookup) =>
    new Promise<unknown[]>((done) => guardedLookup(resolve)('hooks.example', { all: true }, (...args: unknown[]) => done(args)));

  it('refuses a name when any of its addresses is not public, even listed after a public one', async () => {
    const [error] = await ask(answering([{ address: '93.184.216.34', family: 4 }, { address: 'fd00::1', family: 6 }]));
    expect(error).toBeInstanceOf(RefusedTargetError);
    expect((error as Error).message).toBe('hooks.example resolves to fd00::1, not a public address (unique local)');
  });

  it('passes on a name whose addresses are all public', async () => {
    const addresses = [{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1111', family: 6 }];
    expect(await ask(answering(addresses))).toEqual([null, addresses, undefined]);
  });
});

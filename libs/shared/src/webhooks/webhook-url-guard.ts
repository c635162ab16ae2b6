import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * SSRF protection for webhook URLs: a URL whose host resolves to any address that is not public
 * (loopback, private, link-local, CGNAT, "this network", multicast, cloud metadata, and the
 * IPv4-mapped IPv6 forms of those) is refused. Checked at submit and again at every delivery,
 * and the delivery connects to the address that was checked (see webhook-request.ts), so a DNS
 * answer that changes between the check and the connection cannot slip through.
 */

/** A webhook URL the API will not call; answered 400 naming `webhook_url`. */
export class WebhookUrlNotAllowed extends Error {
  readonly code = 'WebhookUrlNotAllowed';
  readonly field = 'webhook_url';
  constructor(message: string) {
    super(message);
    this.name = 'WebhookUrlNotAllowed';
  }
}

/** The host of a webhook URL did not resolve (may be transient: a delivery retries). */
export class WebhookHostUnresolved extends Error {
  readonly code = 'WebhookHostUnresolved';
  readonly field = 'webhook_url';
  constructor(host: string, cause: unknown) {
    super(`the webhook host ${host} does not resolve`, { cause });
    this.name = 'WebhookHostUnresolved';
  }
}

export interface WebhookUrlPolicy {
  /** loopback (127/8, ::1) allowed: development and tests only */
  allowLoopback: boolean;
  /** http: refused when true */
  requireHttps: boolean;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

export type HostLookup = (host: string) => Promise<ResolvedAddress[]>;

export interface CheckedWebhookUrl {
  url: URL;
  /** the addresses checked; a delivery connects to the first */
  addresses: ResolvedAddress[];
}

const systemLookup: HostLookup = async (host) => {
  const found = await dnsLookup(host, { all: true, verbatim: true });
  return found.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

const notPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['169.254.0.0', 16], // link-local, cloud metadata (169.254.169.254)
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  notPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['fc00::', 7], // unique local (fd00:ec2::254, the EC2 metadata address, is in it)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b::', 96], // NAT64 of IPv4: could reach any IPv4 address
  ['2002::', 16], // 6to4: likewise
] as const) {
  notPublic.addSubnet(network, prefix, 'ipv6');
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d or ::ffff:xxxx:xxxx) as its IPv4 address; else undefined. */
function mappedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:0{0,4}:){0,5}:?ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (dotted?.[1] !== undefined) return dotted[1];
  const hex = /^(?:0{0,4}:){0,5}:?ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex?.[1] === undefined || hex[2] === undefined) return undefined;
  const high = Number.parseInt(hex[1], 16);
  const low = Number.parseInt(hex[2], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** Why an address may not be called, or undefined when it may. */
export function refusedAddressReason(address: string, family: 4 | 6, policy: Pick<WebhookUrlPolicy, 'allowLoopback'>): string | undefined {
  const mapped = family === 6 ? mappedIpv4(address) : undefined;
  if (mapped !== undefined) return refusedAddressReason(mapped, 4, policy);
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (loopback.check(address, type)) return policy.allowLoopback ? undefined : 'a loopback address';
  if (notPublic.check(address, type)) return 'a private, link-local, metadata or otherwise non-public address';
  return undefined;
}

/** The URL's host without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Parses and checks a webhook URL: scheme, no credentials, and every address its host resolves
 * to (one bad address refuses the URL, since the connection could go to any of them).
 */
export async function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy, lookup: HostLookup = systemLookup): Promise<CheckedWebhookUrl> {
  if (!URL.canParse(raw)) throw new WebhookUrlNotAllowed('webhook_url is not a URL');
  const url = new URL(raw);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookUrlNotAllowed('webhook_url must be http:// or https://');
  if (policy.requireHttps && url.protocol !== 'https:') throw new WebhookUrlNotAllowed('webhook_url must be https://');
  if (url.username !== '' || url.password !== '') throw new WebhookUrlNotAllowed('webhook_url must not carry credentials');
  const host = hostOf(url);
  const literal = isIP(host);
  let addresses: ResolvedAddress[];
  if (literal === 4 || literal === 6) {
    addresses = [{ address: host, family: literal }];
  } else {
    try {
      addresses = await lookup(host);
    } catch (error) {
      throw new WebhookHostUnresolved(host, error);
    }
    if (addresses.length === 0) throw new WebhookHostUnresolved(host, new Error('no addresses'));
  }
  for (const { address, family } of addresses) {
    const reason = refusedAddressReason(address, family, policy);
    if (reason !== undefined) throw new WebhookUrlNotAllowed(`webhook_url resolves to ${reason} (${address})`);
  }
  return { url, addresses };
}

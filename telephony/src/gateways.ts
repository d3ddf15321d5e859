// Transfer targets (one-click 转110, and 119/120/122) and partner gateways that hand calls to us.
// Data, like the line table: a deployment configures its own (TELEPHONY_GATEWAYS, JSON).
import { networkInterfaces } from 'node:os';
import sip from 'sip';

export interface GatewayConfig {
  /** target key the console sends: '110', '119', '120', '122' */
  key: string;
  name: string;
  /** where a transfer INVITE goes, e.g. `sip:110@10.1.1.1:5060` */
  uri: string;
  /** source IPs whose INVITEs to our lines come from this gateway (calls handed over to 12345) */
  inboundSources?: string[];
  /** header carrying the partner's reference for the matter (lower case), default `x-reference-id` */
  referenceHeader?: string;
}

export interface Gateway {
  key: string;
  name: string;
  uri: string;
  inboundSources: string[];
  referenceHeader: string;
}

export type GatewayTable = ReadonlyMap<string, Gateway>;

/** `host:port` of a SIP URI, lower case, with the scheme's default port when it names none. */
export function sipAddressOf(uri: string): string | null {
  const u = sip.parseUri(uri);
  if (!u || !u.host) return null;
  return `${u.host}:${u.port || (u.schema === 'sips' ? 5061 : 5060)}`.toLowerCase();
}

/**
 * Every `host:port` (lower case) that reaches this adapter, from the addresses it is configured
 * with: `localhost` too for a loopback one, and every local interface address when it listens on
 * all of them (0.0.0.0). A phone or gateway named by any of these would be ourselves.
 */
export function ownAddressSet(addresses: readonly string[], interfaces: () => string[] = localInterfaceAddresses): Set<string> {
  const out = new Set<string>();
  for (const a of addresses) {
    const i = a.lastIndexOf(':');
    const host = a.slice(0, i).toLowerCase();
    const port = a.slice(i + 1);
    out.add(`${host}:${port}`);
    if (host === '0.0.0.0') for (const h of [...interfaces(), 'localhost']) out.add(`${h.toLowerCase()}:${port}`);
    if (host === '127.0.0.1' || host === '::1') out.add(`localhost:${port}`);
  }
  return out;
}

function localInterfaceAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).filter((n) => n.family === 'IPv4').map((n) => n.address));
}

/**
 * Throws if a gateway's URI is one of our own SIP addresses (`host:port`): a transfer INVITE to
 * it would come back to the adapter (TELEPHONY-NOTES defect 1), so it is refused at start-up.
 */
export function assertGatewaysNotOwnAddress(table: GatewayTable, own: readonly string[]): void {
  const mine = ownAddressSet(own);
  for (const g of table.values()) {
    const a = sipAddressOf(g.uri);
    if (a && mine.has(a)) {
      throw new Error(`gateway ${g.key}: ${JSON.stringify(g.uri)} is the adapter's own SIP address ${a}; a transfer there would loop back to us`);
    }
  }
}

/**
 * Validates the configuration; throws on a bad URI, key or duplicate, or (given `own`, our
 * `host:port` addresses) a URI that is our own address.
 */
export function buildGatewayTable(list: readonly GatewayConfig[], own: readonly string[] = []): GatewayTable {
  const out = new Map<string, Gateway>();
  for (const g of list) {
    if (!/^[0-9A-Za-z_-]{1,32}$/.test(g.key)) throw new Error(`gateway key ${JSON.stringify(g.key)} is not valid`);
    if (out.has(g.key)) throw new Error(`gateway ${g.key} configured twice`);
    const u = sip.parseUri(g.uri);
    if (!u || !/^sips?$/.test(u.schema) || !u.host) throw new Error(`gateway ${g.key}: ${JSON.stringify(g.uri)} is not a SIP URI`);
    const header = (g.referenceHeader ?? 'x-reference-id').toLowerCase();
    if (!/^[a-z0-9-]{1,64}$/.test(header)) throw new Error(`gateway ${g.key}: bad reference header ${JSON.stringify(header)}`);
    out.set(g.key, { key: g.key, name: g.name, uri: g.uri, inboundSources: [...(g.inboundSources ?? [])], referenceHeader: header });
  }
  assertGatewaysNotOwnAddress(out, own);
  return out;
}

/** Reads TELEPHONY_GATEWAYS (a JSON array of GatewayConfig); empty when unset. */
export function gatewaysFromEnv(raw: string | undefined, own: readonly string[] = []): GatewayTable {
  if (!raw || raw.trim() === '') return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('TELEPHONY_GATEWAYS is not valid JSON');
  }
  if (!Array.isArray(parsed)) throw new Error('TELEPHONY_GATEWAYS must be a JSON array');
  return buildGatewayTable(parsed as GatewayConfig[], own);
}

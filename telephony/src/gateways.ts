// Transfer targets (one-click 转110, and 119/120/122) and partner gateways that hand calls to us.
// Data, like the line table: a deployment configures its own (TELEPHONY_GATEWAYS, JSON).
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

/** Validates the configuration; throws on a bad URI, key or duplicate. */
export function buildGatewayTable(list: readonly GatewayConfig[]): GatewayTable {
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
  return out;
}

/** Reads TELEPHONY_GATEWAYS (a JSON array of GatewayConfig); empty when unset. */
export function gatewaysFromEnv(raw: string | undefined): GatewayTable {
  if (!raw || raw.trim() === '') return new Map();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new Error('TELEPHONY_GATEWAYS is not valid JSON');
  }
  if (!Array.isArray(parsed)) throw new Error('TELEPHONY_GATEWAYS must be a JSON array');
  return buildGatewayTable(parsed as GatewayConfig[]);
}

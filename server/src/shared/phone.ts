/** Phone numbers are masked for department users: 13812345678 → 138****5678. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\s+/g, '');
  if (digits.length >= 7) return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
  if (digits.length > 2) return `${digits.slice(0, 1)}${'*'.repeat(digits.length - 2)}${digits.slice(-1)}`;
  return '*'.repeat(digits.length);
}

// Boundaries exclude letters too, so hex ids and other tokens that contain 11 digits are untouched.
const MOBILE = /(?<![0-9A-Za-z])(1[3-9]\d)\d{4}(\d{4})(?![0-9A-Za-z])/g;
/** Mask Chinese mobile numbers inside free text: 13812345678 → 138****5678. */
export const maskPhonesInText = (s: string): string => s.replace(MOBILE, '$1****$2');

/**
 * Mask phone numbers (and the given names, e.g. a confidential caller's) in every string of a
 * JSON-like value: what department users and log lines get.
 */
export function maskDeep(value: unknown, names: readonly string[] = [], depth = 0): unknown {
  if (typeof value === 'string') {
    let out = maskPhonesInText(value);
    for (const n of names) if (n.length > 0) out = out.split(n).join('***');
    return out;
  }
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  if (value instanceof Error) {
    return { type: value.name, message: maskDeep(value.message, names), stack: value.stack ? maskDeep(value.stack, names) : undefined };
  }
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, names, depth + 1));
  if (typeof (value as { toHexString?: unknown }).toHexString === 'function') return value; // ObjectId
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, names, depth + 1);
  return out;
}

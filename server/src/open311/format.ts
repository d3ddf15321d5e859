/**
 * Open311 output: the same objects as JSON or XML (the spec's element names), and its error
 * format — JSON `[{"code":404,"description":"…"}]`, XML `<errors><error><code>…`.
 */
import type { Response } from 'express';
import { XMLBuilder } from 'fast-xml-parser';

export const FORMATS = ['json', 'xml'] as const;
export type Format = (typeof FORMATS)[number];

const builder = new XMLBuilder({ ignoreAttributes: false, format: false, suppressEmptyNode: false, processEntities: true });

/** null/undefined → empty element; booleans and numbers as text. */
const clean = (v: unknown): unknown => {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.map(clean);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, clean(x)]));
  return String(v);
};

/** `items` as `<root><item>…</item>…</root>` or a JSON array. */
export function sendList(res: Response, format: Format, status: number, root: string, item: string, items: Record<string, unknown>[]): void {
  if (format === 'json') {
    res.status(status).type('application/json; charset=utf-8').send(JSON.stringify(items));
    return;
  }
  const xml = builder.build({ [root]: items.length ? { [item]: items.map(clean) } : '' }) as string;
  res.status(status).type('text/xml; charset=utf-8').send(`<?xml version="1.0" encoding="utf-8"?>${xml}`);
}

/** One object (a service definition) as `<root>…</root>` or a JSON object. */
export function sendObject(res: Response, format: Format, root: string, obj: Record<string, unknown>): void {
  if (format === 'json') {
    res.status(200).type('application/json; charset=utf-8').send(JSON.stringify(obj));
    return;
  }
  res.status(200).type('text/xml; charset=utf-8').send(`<?xml version="1.0" encoding="utf-8"?>${builder.build({ [root]: clean(obj) }) as string}`);
}

export function sendErrors(res: Response, format: Format, status: number, errors: { description: string }[]): void {
  sendList(res, format, status, 'errors', 'error', errors.map((e) => ({ code: status, description: e.description })));
}

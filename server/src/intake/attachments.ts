/**
 * Citizens' attachments (issue #6 item 1): size- and type-checked, stored safely.
 *
 * - Type by content, not by name or the client's Content-Type: the first bytes must match an
 *   allow-listed signature (photos, PDF, audio/video recordings). A renamed .exe is refused.
 * - Stored under a random name (128 random bits, no extension, nothing from the client) in
 *   `DATA_DIR/attachments`, which no static route serves; files are written `wx` (never
 *   overwrite), mode 0600, and fsynced before the ticket that names them is inserted — a ticket
 *   never points at a file that is not on disk (an orphan file after a crash is harmless).
 * - The ticket keeps metadata only (AttachmentMeta): detected type, size, sha256, display name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Request, RequestHandler } from 'express';
import mongoose from 'mongoose';
import multer from 'multer';
import { AppError } from '../errors.js';
import type { AttachmentMeta } from '../tickets/model.js';

interface Signature {
  mimeType: string;
  test: (b: Buffer) => boolean;
}

const starts = (b: Buffer, bytes: number[], at = 0): boolean => b.length >= at + bytes.length && bytes.every((v, i) => b[at + i] === v);
const ascii = (b: Buffer, s: string, at = 0): boolean => starts(b, [...Buffer.from(s, 'latin1')], at);

/** The allow-list, checked on the file's first bytes. */
export const ALLOWED_TYPES: readonly Signature[] = [
  { mimeType: 'image/jpeg', test: (b) => starts(b, [0xff, 0xd8, 0xff]) },
  { mimeType: 'image/png', test: (b) => starts(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { mimeType: 'image/gif', test: (b) => ascii(b, 'GIF87a') || ascii(b, 'GIF89a') },
  { mimeType: 'image/webp', test: (b) => ascii(b, 'RIFF') && ascii(b, 'WEBP', 8) },
  { mimeType: 'application/pdf', test: (b) => ascii(b, '%PDF-') },
  { mimeType: 'audio/mpeg', test: (b) => ascii(b, 'ID3') || starts(b, [0xff, 0xfb]) || starts(b, [0xff, 0xf3]) },
  { mimeType: 'audio/wav', test: (b) => ascii(b, 'RIFF') && ascii(b, 'WAVE', 8) },
  { mimeType: 'video/mp4', test: (b) => ascii(b, 'ftyp', 4) },
];

/** The allowed type of these bytes, or null. */
export function detectType(b: Buffer): string | null {
  return ALLOWED_TYPES.find((s) => s.test(b))?.mimeType ?? null;
}

/** A display name only: no path, no control characters, at most 100 characters. */
export function displayName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f<>:"|?*]/g, '').trim();
  return (clean || 'attachment').slice(0, 100);
}

/** Where attachment bytes live. Keys are random and opaque. */
export interface AttachmentStore {
  put(data: Buffer): Promise<string>;
  get(key: string): Promise<Buffer | null>;
}

const KEY = /^[0-9a-f]{32}$/;

/** Files under one directory (a volume shared by the instances in production). */
export class DiskAttachmentStore implements AttachmentStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async put(data: Buffer): Promise<string> {
    const key = randomBytes(16).toString('hex');
    const sub = join(this.dir, key.slice(0, 2));
    await mkdir(sub, { recursive: true, mode: 0o700 });
    const fh = await open(join(sub, key), 'wx', 0o600);
    try {
      await fh.writeFile(data);
      await fh.sync(); // on disk before the ticket naming it is inserted
    } finally {
      await fh.close();
    }
    return key;
  }

  async get(key: string): Promise<Buffer | null> {
    if (!KEY.test(key)) return null;
    return readFile(join(this.dir, key.slice(0, 2), key)).catch(() => null);
  }
}

/**
 * GridFS (bucket `attachments`) in the ticket database: shared by every instance without a
 * shared volume (production on MongoDB). Works on FerretDB v1 too (checked with 1.24), but there
 * its chunk lookups scan the collection, so the disk store is the default for development.
 * The files document is written after the chunks: a crash mid-upload leaves no visible file,
 * and put() returns (and the ticket is written) only after it.
 */
export class GridFsAttachmentStore implements AttachmentStore {
  private readonly bucket: mongoose.mongo.GridFSBucket;
  constructor(db: mongoose.mongo.Db) {
    this.bucket = new mongoose.mongo.GridFSBucket(db, { bucketName: 'attachments' });
  }

  async put(data: Buffer): Promise<string> {
    const id = new mongoose.mongo.ObjectId();
    await new Promise<void>((resolve, reject) => {
      const w = this.bucket.openUploadStreamWithId(id, id.toHexString());
      w.once('finish', () => resolve());
      w.once('error', reject);
      w.end(data);
    });
    return `gridfs:${id.toHexString()}`;
  }

  async get(key: string): Promise<Buffer | null> {
    const m = /^gridfs:([0-9a-f]{24})$/.exec(key);
    if (!m) return null;
    const chunks: Buffer[] = [];
    return new Promise<Buffer | null>((resolve) => {
      const r = this.bucket.openDownloadStream(new mongoose.mongo.ObjectId(m[1]!));
      r.on('data', (c: Buffer) => chunks.push(c));
      r.once('end', () => resolve(Buffer.concat(chunks)));
      r.once('error', () => resolve(null));
    });
  }
}

export interface AttachmentLimits {
  maxBytes: number;
  maxFiles: number;
}

/** Checks each uploaded file's content and stores it; throws before storing anything if one is refused. */
export async function storeAttachments(files: Express.Multer.File[], store: AttachmentStore, now: Date): Promise<AttachmentMeta[]> {
  const typed = files.map((f, i) => {
    const mimeType = detectType(f.buffer);
    if (!mimeType) {
      throw new AppError('ATTACHMENT_TYPE_NOT_ALLOWED', 'attachment type not allowed (by its content): photos (jpeg, png, gif, webp), pdf, mp3, wav or mp4', {
        index: i,
        name: displayName(f.originalname),
        allowed: ALLOWED_TYPES.map((t) => t.mimeType),
      });
    }
    return { f, mimeType };
  });
  const out: AttachmentMeta[] = [];
  for (const { f, mimeType } of typed) {
    const storageKey = await store.put(f.buffer);
    out.push({
      id: randomBytes(12).toString('hex'),
      name: displayName(f.originalname),
      mimeType,
      size: f.size,
      sha256: createHash('sha256').update(f.buffer).digest('hex'),
      storageKey,
      at: now,
    });
  }
  return out;
}

/** Field names a multipart filing may carry as files. */
export const FILE_FIELD = 'attachments';

/**
 * Multipart parsing (memory, bounded): files over `maxBytes`, more than `maxFiles`, or too many
 * or too large text fields are refused with a 4xx before the handler runs. Multipart text
 * fields are strings; `true`/`false` become booleans so the JSON schema validates both forms.
 */
export function multipartIntake(limits: AttachmentLimits, booleanFields: readonly string[]): RequestHandler {
  const upload = multer({
    storage: multer.memoryStorage(),
    limits: { fileSize: limits.maxBytes, files: limits.maxFiles, fields: 30, fieldSize: 64 * 1024, parts: limits.maxFiles + 30 },
    defParamCharset: 'utf8', // file names as UTF-8 (中文文件名), not latin1
  } as multer.Options).array(FILE_FIELD, Math.max(limits.maxFiles, 1));
  return (req, res, next) => {
    if (!req.is('multipart/form-data')) return next();
    upload(req, res, (err: unknown) => {
      if (err) return next(multerError(err, limits));
      const body = (req.body ?? {}) as Record<string, unknown>;
      for (const k of booleanFields) {
        if (body[k] === 'true') body[k] = true;
        else if (body[k] === 'false') body[k] = false;
      }
      for (const [k, v] of Object.entries(body)) if (v === '') delete body[k];
      req.body = body;
      next();
    });
  };
}

function multerError(err: unknown, limits: AttachmentLimits): AppError {
  const code = (err as { code?: unknown }).code;
  switch (code) {
    case 'LIMIT_FILE_SIZE':
      return new AppError('ATTACHMENT_TOO_LARGE', `an attachment is larger than ${limits.maxBytes} bytes`, { maxBytes: limits.maxBytes });
    case 'LIMIT_FILE_COUNT':
    case 'LIMIT_UNEXPECTED_FILE':
      return new AppError('TOO_MANY_ATTACHMENTS', `at most ${limits.maxFiles} files, in the field "${FILE_FIELD}"`, { maxFiles: limits.maxFiles, field: FILE_FIELD });
    case 'LIMIT_FIELD_VALUE':
    case 'LIMIT_FIELD_COUNT':
    case 'LIMIT_PART_COUNT':
    case 'LIMIT_FIELD_KEY':
      return new AppError('PAYLOAD_TOO_LARGE', 'multipart body has too many or too large fields');
    default:
      return new AppError('VALIDATION_FAILED', 'malformed multipart body', [{ path: 'body', message: String((err as Error).message ?? err), code: String(code ?? 'multipart') }]);
  }
}

export const filesOf = (req: Request): Express.Multer.File[] => (Array.isArray(req.files) ? req.files : []);

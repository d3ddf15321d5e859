/**
 * What each ticket command asks of the user (bodies of server/src/tickets/commands.ts), so one
 * generic dialog can run any command the server lists in `availableCommands`. Pure data.
 */
export type FieldKind = 'text' | 'textarea' | 'days' | 'boolean' | 'rating' | 'department' | 'departments' | 'resolution';

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  required: boolean;
  /** minimum length of text fields (server: reason ≥ 2, content ≥ 2) */
  min?: number;
}

export const COMMAND_FIELDS: Record<string, FieldSpec[]> = {
  answerDirectly: [{ name: 'answer', kind: 'textarea', required: true, min: 2 }],
  dispatch: [
    { name: 'leadDepartmentId', kind: 'department', required: true },
    { name: 'coDepartmentIds', kind: 'departments', required: false },
    { name: 'note', kind: 'textarea', required: false },
  ],
  sign: [{ name: 'note', kind: 'textarea', required: false }],
  return: [{ name: 'reason', kind: 'textarea', required: true, min: 2 }],
  reviewReturn: [
    { name: 'approve', kind: 'boolean', required: true },
    { name: 'note', kind: 'textarea', required: false },
  ],
  requestExtension: [
    { name: 'days', kind: 'days', required: true },
    { name: 'reason', kind: 'textarea', required: true, min: 2 },
  ],
  decideExtension: [
    { name: 'approve', kind: 'boolean', required: true },
    { name: 'days', kind: 'days', required: false },
    { name: 'note', kind: 'textarea', required: false },
  ],
  coNote: [{ name: 'text', kind: 'textarea', required: true, min: 2 }],
  reply: [{ name: 'text', kind: 'textarea', required: true, min: 2 }],
  reviewReply: [
    { name: 'accept', kind: 'boolean', required: true },
    { name: 'note', kind: 'textarea', required: false },
  ],
  returnVisit: [
    { name: 'contacted', kind: 'boolean', required: true },
    { name: 'rating', kind: 'rating', required: false },
    { name: 'realName', kind: 'boolean', required: false },
    { name: 'comment', kind: 'textarea', required: false },
  ],
  rate: [
    { name: 'level', kind: 'rating', required: true },
    { name: 'realName', kind: 'boolean', required: false },
    { name: 'comment', kind: 'textarea', required: false },
  ],
  verifyRating: [
    { name: 'valid', kind: 'boolean', required: true },
    { name: 'resolution', kind: 'resolution', required: false },
    { name: 'note', kind: 'textarea', required: true, min: 2 },
  ],
  contact: [{ name: 'note', kind: 'textarea', required: false }],
  requestSuspension: [{ name: 'reason', kind: 'textarea', required: true, min: 2 }],
  decideSuspension: [
    { name: 'approve', kind: 'boolean', required: true },
    { name: 'note', kind: 'textarea', required: false },
  ],
  resume: [{ name: 'note', kind: 'textarea', required: false }],
  citizenInfo: [{ name: 'text', kind: 'textarea', required: true, min: 2 }],
  urge: [{ name: 'message', kind: 'textarea', required: true, min: 2 }],
  supervise: [{ name: 'note', kind: 'textarea', required: true, min: 2 }],
  merge: [
    { name: 'masterId', kind: 'text', required: true },
    { name: 'note', kind: 'textarea', required: false },
  ],
  reopen: [{ name: 'reason', kind: 'textarea', required: true, min: 2 }],
  close: [{ name: 'reason', kind: 'textarea', required: true, min: 2 }],
};

/** camelCase command → URL segment (server/src/tickets/routes.ts commandPath). */
export const commandPath = (t: string): string => t.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * The request body of a command from form values: empty optional strings are left out (the
 * server's schemas reject empty notes), booleans default to false.
 */
export function commandBody(command: string, values: Record<string, unknown>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of COMMAND_FIELDS[command] ?? []) {
    const v = values[f.name];
    if (f.kind === 'boolean') {
      if (v !== undefined || f.required) body[f.name] = v === true;
      continue;
    }
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') {
      const s = v.trim();
      if (s) body[f.name] = s;
      continue;
    }
    if (Array.isArray(v) && v.length === 0 && !f.required) continue;
    body[f.name] = v;
  }
  return body;
}

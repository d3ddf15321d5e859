/**
 * CAPTCHA-ready hook of the public API. The default lets everyone through; a deployment plugs
 * in its CAPTCHA (or slider, or SMS code) verifier by passing `verifyHuman` to createApp.
 * A refusal answers 403 CAPTCHA_REQUIRED, which tells the citizen page to show its challenge.
 */
import type { Request } from 'express';

export type HumanVerdict = { ok: true } | { ok: false; reason?: string };

/** Decide whether a public request comes from a person (read a token from a header or the body). */
export type VerifyHuman = (req: Request) => Promise<HumanVerdict> | HumanVerdict;

export const allowEveryone: VerifyHuman = () => ({ ok: true });

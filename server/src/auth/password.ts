import { hash, verify } from '@node-rs/argon2';

/** argon2id with the library's defaults (OWASP-recommended parameters). */
export const hashPassword = (plain: string): Promise<string> => hash(plain);

export async function verifyPassword(hashed: string, plain: string): Promise<boolean> {
  try {
    return await verify(hashed, plain);
  } catch {
    return false;
  }
}

/** A valid hash of a random password, verified against when the user does not exist, so
 * response time does not reveal which usernames exist. */
let dummy: Promise<string> | null = null;
export const dummyHash = (): Promise<string> => (dummy ??= hash(`dummy-${Math.random()}`));

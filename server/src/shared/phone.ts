/** Phone numbers are masked for department users: 13812345678 → 138****5678. */
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\s+/g, '');
  if (digits.length >= 7) return `${digits.slice(0, 3)}****${digits.slice(-4)}`;
  if (digits.length > 2) return `${digits.slice(0, 1)}${'*'.repeat(digits.length - 2)}${digits.slice(-1)}`;
  return '*'.repeat(digits.length);
}

const MOBILE = /(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)/g;
/** Mask Chinese mobile numbers inside free text: 13812345678 → 138****5678. */
export const maskPhonesInText = (s: string): string => s.replace(MOBILE, '$1****$2');

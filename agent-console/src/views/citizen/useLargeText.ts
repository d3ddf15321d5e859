/**
 * The large-text mode of the public pages (适老化): 20 px text, 48 px controls, kept for the
 * next visit (localStorage), so a citizen who switched it on on the complaint page finds it on
 * the rating page too, and back.
 */
import { useCallback, useState } from 'react';

export const LARGE_TEXT_KEY = 'hotline.largeText';

/** antd theme tokens of the large-text mode (CitizenShell). */
export const LARGE_TEXT_THEME = { token: { fontSize: 20, controlHeight: 48, controlHeightLG: 56 } };

function initialLarge(): boolean {
  try {
    return window.localStorage.getItem(LARGE_TEXT_KEY) === '1';
  } catch {
    return false;
  }
}

export function useLargeText(): [boolean, (on: boolean) => void] {
  const [large, setLarge] = useState(initialLarge);
  const toggle = useCallback((on: boolean) => {
    setLarge(on);
    try {
      window.localStorage.setItem(LARGE_TEXT_KEY, on ? '1' : '0');
    } catch {
      /* storage disabled */
    }
  }, []);
  return [large, toggle];
}

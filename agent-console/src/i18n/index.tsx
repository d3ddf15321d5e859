import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { DICTIONARIES, type Lang, type MessageKey } from './dict';

export type { Lang, MessageKey };

/** "{n} calls" + {n: 3} → "3 calls". Unknown placeholders stay visible (a bug, not a blank). */
export function format(template: string, vars?: Record<string, string | number>): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
}

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: Translate;
}

const Ctx = createContext<I18n | null>(null);

/** zh-CN by default; the choice is a UI preference (not a secret), kept for the next visit. */
const PREF_KEY = 'hotline.lang';

function initialLang(): Lang {
  try {
    const saved = window.localStorage.getItem(PREF_KEY);
    if (saved === 'en' || saved === 'zh-CN') return saved;
  } catch {
    /* storage disabled */
  }
  return 'zh-CN';
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = DICTIONARIES[lang]['app.title'];
  }, [lang]);
  const setLang = useCallback((l: Lang) => {
    setLangState(l);
    try {
      window.localStorage.setItem(PREF_KEY, l);
    } catch {
      /* storage disabled */
    }
  }, []);
  const t = useCallback<Translate>((key, vars) => format(DICTIONARIES[lang][key], vars), [lang]);
  const value = useMemo(() => ({ lang, setLang, t }), [lang, setLang, t]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}

/** Label of a closed-vocabulary value ("category.complaint"), falling back to the raw value. */
export function useLabel(): (prefix: string, value: string | null | undefined) => string {
  const { lang } = useI18n();
  return useCallback(
    (prefix, value) => {
      if (value === null || value === undefined) return '—';
      const dict = DICTIONARIES[lang] as Record<string, string>;
      return dict[`${prefix}.${value}`] ?? value;
    },
    [lang],
  );
}

import { Button } from 'antd';
import { useI18n } from '../i18n';

/**
 * 中文 ⇄ English; the label is in the language it switches to, so both readers find it. The
 * accessible name starts with the visible word (WCAG 2.5.3: speech users say what they see).
 */
export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  const next = lang === 'zh-CN' ? 'en' : 'zh-CN';
  const visible = next === 'en' ? 'English' : '中文';
  return (
    <Button ghost size="small" onClick={() => setLang(next)} aria-label={`${visible} · ${t('lang.switchAria')}`} lang={next}>
      {visible}
    </Button>
  );
}

import { Button } from 'antd';
import { useI18n } from '../i18n';

/** 中文 ⇄ English; the label is in the language it switches to, so both readers find it. */
export function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  const next = lang === 'zh-CN' ? 'en' : 'zh-CN';
  return (
    <Button ghost size="small" onClick={() => setLang(next)} aria-label={t('lang.switchAria')} lang={next}>
      {next === 'en' ? 'English' : '中文'}
    </Button>
  );
}

import { Card, Typography } from 'antd';
import { useI18n } from '../i18n';

/** Administration lives in the API for now (departments, users, routing rules, knowledge base). */
export default function AdminPage() {
  const { t } = useI18n();
  return (
    <Card title={t('nav.admin')}>
      <Typography.Paragraph>{t('admin.body')}</Typography.Paragraph>
      <a href="/api/docs">{t('admin.docs')}</a>
    </Card>
  );
}

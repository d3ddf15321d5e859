/**
 * Citizen notification texts (zh-CN), pure. SMS are short: the ticket number identifies the
 * matter; the reply itself is summarised, never the caller's own details.
 */
export const NOTIFICATION_KINDS = ['dispatched', 'replied', 'rectifying', 'rating_invite'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface TemplateInput {
  number: string;
  departmentName?: string | null;
  replySummary?: string | null;
  link?: string | null;
  linkValidDays?: number;
}

const SIGN = '【12345政务服务热线】';
const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s);

export function renderNotification(kind: NotificationKind, v: TemplateInput): string {
  const dept = v.departmentName ? `${v.departmentName}` : '承办单位';
  switch (kind) {
    case 'dispatched':
      return `${SIGN}您反映的诉求（工单号${v.number}）已转交${dept}办理，办理结果将及时答复您。`;
    case 'replied':
      return `${SIGN}您反映的诉求（工单号${v.number}）${dept}已答复，热线将审核后回访。`;
    case 'rectifying':
      return `${SIGN}经核实，您对工单${v.number}的评价情况属实，已交${dept}整改，整改结果将再次回访您。`;
    case 'rating_invite': {
      const reply = v.replySummary ? `答复：${clip(v.replySummary, 60)}。` : '';
      const days = v.linkValidDays ? `（${v.linkValidDays}天内有效，仅可评价一次）` : '';
      return `${SIGN}您的诉求（工单号${v.number}）已办理完毕。${reply}请对办理结果进行评价${days}：${v.link ?? ''}`;
    }
  }
}

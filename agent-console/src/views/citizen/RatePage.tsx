/**
 * The citizen's rating page (好差评 by link): the SMS rating invitation's link
 * `${RATING_LINK_BASE}<token>` answers a 302 to `/#/rate/<token>` (server/src/ratings/link-page.ts)
 * and lands here, without a login. It shows the ticket as GET /api/rate/{token} gives it
 * (masked), the five levels as a radio group (arrow keys move, Space/Enter choose), an optional
 * comment, and posts POST /api/rate/{token} once. A real-name bad rating opens 核实 on the
 * server (state `disputed`): the thank-you then says the hotline will verify and follow up.
 * The same large-text mode (适老化) and language switch as the complaint page.
 */
import { Alert, Button, Card, Descriptions, Grid, Input, Radio, Result, Space, Spin, Typography } from 'antd';
import dayjs from 'dayjs';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useParams } from 'react-router';
import { api, ApiError } from '../../api/client';
import { useI18n, useLabel, type MessageKey } from '../../i18n';
import { CitizenShell } from './CitizenShell';
import { useLargeText } from './useLargeText';

/** The levels in the order citizens know them (server: tickets/vocabulary.ts RATING_LEVELS). */
const LEVELS = ['very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied', 'very_dissatisfied'] as const;
type Level = (typeof LEVELS)[number];
const BAD: readonly Level[] = ['dissatisfied', 'very_dissatisfied'];
/** server: ratings/routes.ts rateBody.comment */
const COMMENT_MAX = 500;
/** server: ratings/routes.ts tokenParams (and link-page.ts) */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,100}$/;

interface View {
  ticket: { number: string; category: string; createdAt: string; content: string; answer: string | null; answeredAt: string | null };
  round: number;
  expiresAt: string;
  levels: { value: Level; label: string }[];
}
interface Rated {
  number: string;
  level: Level;
  state: string;
}

/** Why the link cannot be used, as the citizen is told. */
type Problem = { kind: 'expired' | 'used' | 'invalid' } | { kind: 'other'; message: string };

function problemOf(e: unknown): Problem {
  if (e instanceof ApiError) {
    if (e.status === 410) return { kind: 'expired' };
    if (e.status === 409) return { kind: 'used' };
    if (e.status === 404) return { kind: 'invalid' };
  }
  return { kind: 'other', message: e instanceof Error ? e.message : String(e) };
}

const PROBLEM_TEXT: Record<Exclude<Problem['kind'], 'other'>, MessageKey> = { expired: 'rate.expired', used: 'rate.used', invalid: 'rate.invalid' };

export default function RatePage() {
  const { t } = useI18n();
  const label = useLabel();
  const { token = '' } = useParams();
  const [large, setLarge] = useLargeText();
  // phones (where SMS links are opened): labels above values
  const wide = Grid.useBreakpoint().sm ?? true;
  const [view, setView] = useState<View | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [level, setLevel] = useState<Level | null>(null);
  const [comment, setComment] = useState('');
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [rated, setRated] = useState<Rated | null>(null);
  const resultRef = useRef<HTMLHeadingElement>(null);
  const levelsRef = useRef<HTMLFieldSetElement>(null);

  useEffect(() => {
    setView(null);
    setProblem(null);
    setRated(null);
    if (!TOKEN_SHAPE.test(token)) {
      setProblem({ kind: 'invalid' });
      return;
    }
    const ctl = new AbortController();
    api<View>(`/rate/${encodeURIComponent(token)}`, { expect401: true, signal: ctl.signal })
      .then(setView)
      .catch((e: unknown) => {
        if (!ctl.signal.aborted) setProblem(problemOf(e));
      });
    return () => ctl.abort();
  }, [token]);

  // the outcome replaces the form: move focus to it so a screen reader announces it
  useEffect(() => {
    if (rated || problem) resultRef.current?.focus();
  }, [rated, problem]);

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    if (!level) {
      setMissing(true);
      levelsRef.current?.querySelector<HTMLInputElement>('input[type="radio"]')?.focus();
      return;
    }
    setBusy(true);
    setSubmitError(null);
    try {
      const text = comment.trim();
      const r = await api<Rated>(`/rate/${encodeURIComponent(token)}`, { method: 'POST', expect401: true, body: { level, ...(text ? { comment: text } : {}) } });
      setRated(r);
    } catch (e) {
      const p = problemOf(e);
      // the link died meanwhile (used, expired): say so instead of the form
      if (p.kind === 'other') setSubmitError(p.message);
      else setProblem(p);
    } finally {
      setBusy(false);
    }
  };

  const heading = (text: string) => (
    <h2 ref={resultRef} tabIndex={-1} className="rate-result-title" data-testid="rate-result">
      {text}
    </h2>
  );

  let body;
  if (rated) {
    const bad = BAD.includes(rated.level);
    const verifying = rated.state === 'disputed';
    body = (
      <Result
        status="success"
        title={heading(t('rate.thanks'))}
        subTitle={
          <div role="status">
            <p>{t('rate.recorded', { number: rated.number, level: label('rating', rated.level) })}</p>
            {verifying && <p data-testid="rate-verify">{t('rate.verify')}</p>}
            {bad && !verifying && <p>{t('rate.badNoVerify')}</p>}
          </div>
        }
      />
    );
  } else if (problem) {
    const used = problem.kind === 'used';
    body = (
      <Result
        status={used ? 'success' : problem.kind === 'other' ? 'error' : 'warning'}
        title={heading(problem.kind === 'other' ? t('rate.error', { message: problem.message }) : t(PROBLEM_TEXT[problem.kind]))}
        subTitle={<span data-testid="rate-problem">{t(used ? 'rate.usedHint' : 'rate.callHotline')}</span>}
      />
    );
  } else if (!view) {
    body = (
      <Spin tip={t('common.loading')} size="large">
        <div style={{ height: 96 }} />
      </Spin>
    );
  } else {
    const tk = view.ticket;
    body = (
      <Space direction="vertical" size="large" style={{ width: '100%' }}>
        <Card>
          <Typography.Paragraph>{t('rate.intro')}</Typography.Paragraph>
          <Descriptions
            column={1}
            bordered
            layout={wide ? 'horizontal' : 'vertical'}
            size={large ? 'default' : 'small'}
            styles={wide ? { label: { width: large ? 160 : 120 } } : undefined}
          >
            <Descriptions.Item label={t('ticket.number')}>
              <span className="rate-number" data-testid="rate-ticket-number">
                {tk.number}
              </span>
            </Descriptions.Item>
            <Descriptions.Item label={t('ticket.category')}>{label('category', tk.category)}</Descriptions.Item>
            <Descriptions.Item label={t('ticket.created')}>{dayjs(tk.createdAt).format('YYYY-MM-DD HH:mm')}</Descriptions.Item>
            <Descriptions.Item label={t('rate.content')}>
              <span className="rate-text">{tk.content}</span>
            </Descriptions.Item>
            <Descriptions.Item label={t('ticket.reply')}>
              {tk.answer ? (
                <span className="rate-text" data-testid="rate-answer">
                  {tk.answer}
                </span>
              ) : (
                t('rate.noAnswer')
              )}
              {tk.answeredAt && <div className="rate-muted">{dayjs(tk.answeredAt).format('YYYY-MM-DD HH:mm')}</div>}
            </Descriptions.Item>
          </Descriptions>
        </Card>
        <Card>
          <form onSubmit={(e) => void submit(e)} aria-label={t('rate.title')} noValidate>
            <fieldset ref={levelsRef} className="rate-levels" aria-describedby={missing && !level ? 'rate-level-missing' : undefined} aria-invalid={missing && !level ? true : undefined}>
              <legend className="rate-legend">{t('rate.question')}</legend>
              <Radio.Group
                name="level"
                value={level}
                onChange={(e) => {
                  setLevel(e.target.value as Level);
                  setMissing(false);
                }}
                className="rate-level-group"
                data-testid="rate-levels"
              >
                {LEVELS.map((v) => (
                  <Radio key={v} value={v} className="rate-level" data-level={v}>
                    {label('rating', v)}
                  </Radio>
                ))}
              </Radio.Group>
              {missing && !level && (
                <div id="rate-level-missing" role="alert" className="rate-error">
                  {t('rate.levelRequired')}
                </div>
              )}
            </fieldset>
            <label htmlFor="rate-comment" className="rate-legend" style={{ display: 'block', marginTop: 24 }}>
              {t('rate.comment')}
            </label>
            <Input.TextArea
              id="rate-comment"
              value={comment}
              onChange={(e) => setComment(e.target.value)}
              rows={4}
              maxLength={COMMENT_MAX}
              showCount
              placeholder={t('rate.commentHint')}
            />
            {submitError && (
              <Alert type="error" showIcon role="alert" style={{ marginTop: 16 }} message={t('rate.error', { message: submitError })} description={t('rate.callHotline')} />
            )}
            <Button type="primary" htmlType="submit" size="large" loading={busy} block style={{ marginTop: 24 }} data-testid="rate-submit">
              {t('rate.submit')}
            </Button>
            <Typography.Paragraph className="rate-muted" style={{ marginTop: 12, marginBottom: 0 }}>
              {t('rate.expiresAt', { time: dayjs(view.expiresAt).format('YYYY-MM-DD HH:mm') })}
            </Typography.Paragraph>
          </form>
        </Card>
      </Space>
    );
  }

  return (
    <CitizenShell title={t('rate.title')} className="rate-page" large={large} onLarge={setLarge}>
      {body}
    </CitizenShell>
  );
}

import { App, Button, Form, Input, InputNumber, Modal, Radio, Select, Space, Switch } from 'antd';
import { useRef, useState } from 'react';
import { api, ApiError } from '../api/client';
import { RATING_LEVELS, type Ticket } from '../api/types';
import { useI18n, useLabel } from '../i18n';
import { COMMAND_FIELDS, commandBody, commandPath, type FieldSpec } from '../lib/commands';
import { useDirectory } from '../views/DirectoryContext';

/** Commands shown as primary (the usual next step) rather than secondary buttons. */
const PRIMARY = new Set(['sign', 'reply', 'dispatch', 'reviewReply', 'decideExtension', 'verifyRating', 'returnVisit']);
const DANGER = new Set(['return', 'supervise', 'close']);
/** The controls a dialog's first field may be (see Field). */
const FIRST_FIELD = 'textarea, input:not([type="hidden"]), [role="switch"], [role="radio"]';

/**
 * A button for each command the server says this user may run now (`availableCommands`), each
 * opening one dialog built from lib/commands.ts. The command carries If-Match with the version on
 * screen: if someone else acted first, the server answers 409 and the ticket is reloaded.
 */
export function TicketActions({ ticket, onDone, only, onClosed }: { ticket: Ticket; onDone: (t: Ticket) => void; only?: readonly string[]; onClosed?: () => void }) {
  const { t } = useI18n();
  const label = useLabel();
  const { message } = App.useApp();
  const [open, setOpen] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<Record<string, unknown>>();
  const fieldsRef = useRef<HTMLDivElement>(null);
  const commands = ticket.availableCommands.filter((c) => COMMAND_FIELDS[c] && (!only || only.includes(c)));

  const run = async () => {
    if (!open) return;
    const values = await form.validateFields();
    setBusy(true);
    try {
      const next = await api<Ticket>(`/tickets/${ticket.id}/${commandPath(open)}`, { method: 'POST', body: commandBody(open, values), ifMatch: ticket.version });
      message.success(t('action.done', { action: label('command', open) }));
      setOpen(null);
      form.resetFields();
      onDone(next);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'TICKET_CONFLICT') {
        message.warning(t('action.conflict'));
        setOpen(null);
        onDone(await api<Ticket>(`/tickets/${ticket.id}`));
      } else message.error(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  if (commands.length === 0) return null;
  return (
    <>
      <Space wrap>
        {commands.map((c) => (
          <Button
            key={c}
            type={PRIMARY.has(c) ? 'primary' : 'default'}
            danger={DANGER.has(c)}
            onClick={() => {
              form.resetFields();
              setOpen(c);
            }}
            data-command={c}
          >
            {label('command', c)}
          </Button>
        ))}
      </Space>
      <Modal
        open={open !== null}
        title={open ? `${label('command', open)} · ${ticket.number}` : ''}
        onCancel={() => setOpen(null)}
        onOk={() => void run()}
        okText={t('common.confirm')}
        cancelText={t('common.cancel')}
        confirmLoading={busy}
        destroyOnHidden
        // after the closing animation, once antd has given the focus back to the button that
        // opened the dialog (which may be gone: a signed ticket has no 签收 button)
        afterClose={onClosed}
        // once open, the first field takes the focus so a keyboard user types at once (antd
        // leaves it on the dialog's frame, from which Tab first visits an invisible sentinel)
        afterOpenChange={(opened) => {
          if (opened) fieldsRef.current?.querySelector<HTMLElement>(FIRST_FIELD)?.focus();
        }}
      >
        <div ref={fieldsRef}>
          <Form form={form} layout="vertical" preserve={false}>
            {open && (COMMAND_FIELDS[open] ?? []).map((f) => <Field key={f.name} spec={f} command={open} />)}
          </Form>
        </div>
      </Modal>
    </>
  );
}

function Field({ spec, command }: { spec: FieldSpec; command: string }) {
  const { t } = useI18n();
  const label = useLabel();
  const { departments, deptName } = useDirectory();
  const name = label('field', spec.name);
  const rules = [
    ...(spec.required && spec.kind !== 'boolean' ? [{ required: true, message: t('form.required', { field: name }) }] : []),
    ...(spec.min ? [{ min: spec.min, message: t('form.min', { field: name, n: spec.min }) }] : []),
  ];
  const deptOptions = departments.filter((d) => d.active).map((d) => ({ value: d.id, label: deptName(d.id) }));
  switch (spec.kind) {
    case 'textarea':
      return (
        <Form.Item name={spec.name} label={name} rules={rules}>
          <Input.TextArea rows={command === 'reply' || command === 'answerDirectly' ? 6 : 3} maxLength={2000} showCount />
        </Form.Item>
      );
    case 'text':
      return (
        <Form.Item name={spec.name} label={name} rules={rules}>
          <Input />
        </Form.Item>
      );
    case 'days':
      return (
        <Form.Item name={spec.name} label={name} rules={rules} initialValue={spec.required ? 3 : undefined}>
          <InputNumber min={1} max={10} addonAfter={t('unit.workingDays')} />
        </Form.Item>
      );
    case 'boolean':
      return (
        <Form.Item name={spec.name} label={name} valuePropName="checked" initialValue={spec.required}>
          <Switch checkedChildren={t('common.yes')} unCheckedChildren={t('common.no')} aria-label={name} />
        </Form.Item>
      );
    case 'rating':
      return (
        <Form.Item name={spec.name} label={name} rules={rules}>
          <Radio.Group options={RATING_LEVELS.map((r) => ({ value: r, label: label('rating', r) }))} optionType="button" />
        </Form.Item>
      );
    case 'resolution':
      return (
        <Form.Item name={spec.name} label={name} initialValue="redo">
          <Radio.Group options={(['redo', 'explained'] as const).map((r) => ({ value: r, label: label('resolution', r) }))} />
        </Form.Item>
      );
    case 'department':
      return (
        <Form.Item name={spec.name} label={name} rules={rules}>
          <Select showSearch optionFilterProp="label" options={deptOptions} />
        </Form.Item>
      );
    case 'departments':
      return (
        <Form.Item name={spec.name} label={name}>
          <Select mode="multiple" showSearch optionFilterProp="label" options={deptOptions} />
        </Form.Item>
      );
    default:
      return null;
  }
}

import Form from '@rjsf/core';
import type { ErrorSchema } from '@rjsf/utils';
import validator from '@rjsf/validator-ajv8';
import { type FocusEvent, type FormEvent, useEffect, useMemo, useRef, useState } from 'react';
import {
  apiClient,
  type CatalogProvider,
  type Credential,
  describeFailure,
  problemOf,
  type Session,
  type Workflow,
} from '../api.js';
import { useCatalog } from '../catalog.js';
import {
  configFromForm,
  errorSchemaOf,
  prepareSchema,
  sampleValue,
  triggerFields,
} from '../config-schema.js';
import { Link } from '../router.js';
import { CopyField, Notice, PageHeading } from '../ui.js';

type Issue = { path: (string | number)[]; message: string };

interface Step {
  kind: 'trigger' | 'action';
  key: string;
  provider: CatalogProvider;
  id: string;
  name: string;
  description: string;
  configSchema: Record<string, unknown>;
  outputSchema: Record<string, unknown>;
  /** A trigger's example output (the catalog's `sampleOutput`): shown beside the fields it offers. */
  sampleOutput: unknown;
}

/** The issues under a path prefix, with paths relative to it. */
function issuesAt(issues: Issue[], prefix: string[]): Issue[] {
  return issues
    .filter((issue) => prefix.every((part, index) => String(issue.path[index]) === part))
    .map((issue) => ({ ...issue, path: issue.path.slice(prefix.length) }));
}

function stepsOf(providers: CatalogProvider[], kind: 'trigger' | 'action'): Step[] {
  return providers.flatMap((provider) =>
    (kind === 'trigger' ? provider.triggers : provider.actions).map((entry) => ({
      kind,
      key: `${provider.id}.${entry.id}`,
      provider,
      id: entry.id,
      name: entry.name,
      description: entry.description,
      configSchema: entry.configSchema,
      outputSchema: entry.outputSchema,
      sampleOutput: 'sampleOutput' in entry ? entry.sampleOutput : undefined,
    })),
  );
}

/**
 * A config whose schema is a choice of shapes (a schedule: a cron or an interval) opens with the form's
 * own select of the shape, which it leaves unlabelled.
 */
function AlternativesLabel({ prefix, schema }: { prefix: string; schema: Record<string, unknown> }) {
  if (!Array.isArray(schema.anyOf)) return null;
  return <label htmlFor={`${prefix}__anyof_select`}>Configure by</label>;
}

/** The trigger or action picker: the catalog's steps grouped by provider. */
function StepSelect({
  kind,
  steps,
  value,
  onChange,
}: {
  kind: Step['kind'];
  steps: Step[];
  value: string;
  onChange: (key: string) => void;
}) {
  const providers = [...new Map(steps.map((step) => [step.provider.id, step.provider])).values()];
  return (
    <>
      <label htmlFor={`${kind}-select`}>{kind === 'trigger' ? 'Trigger' : 'Action'}</label>
      <select id={`${kind}-select`} required value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">Choose {kind === 'trigger' ? 'a trigger' : 'an action'}</option>
        {providers.map((provider) => (
          <optgroup key={provider.id} label={provider.name}>
            {steps
              .filter((step) => step.provider.id === provider.id)
              .map((step) => (
                <option key={step.key} value={step.key}>
                  {provider.name}: {step.name}
                </option>
              ))}
          </optgroup>
        ))}
      </select>
    </>
  );
}

/** A new workflow: one trigger and one action from the catalog, their configs as generated forms. */
export function NewWorkflowPage({ session }: { session: Session }) {
  const catalog = useCatalog(session.token);
  const [credentials, setCredentials] = useState<Credential[]>([]);
  const [name, setName] = useState('');
  const [triggerKey, setTriggerKey] = useState('');
  const [actionKey, setActionKey] = useState('');
  const [triggerConfig, setTriggerConfig] = useState<unknown>({});
  const [actionConfig, setActionConfig] = useState<unknown>({});
  const [triggerCredential, setTriggerCredential] = useState('');
  const [actionCredential, setActionCredential] = useState('');
  const [issues, setIssues] = useState<Issue[]>([]);
  const [failure, setFailure] = useState('');
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<Workflow | undefined>();
  const [activated, setActivated] = useState('');
  const lastTemplateField = useRef<
    { key: string; element: HTMLInputElement | HTMLTextAreaElement } | undefined
  >(undefined);

  useEffect(() => {
    void apiClient(session.token)
      .GET('/api/credentials', { params: { query: { limit: 100 } } })
      .then(({ data }) => data && setCredentials(data.items));
  }, [session.token]);

  const providers = catalog.data?.providers ?? [];
  const triggers = useMemo(() => stepsOf(providers, 'trigger'), [providers]);
  const actions = useMemo(() => stepsOf(providers, 'action'), [providers]);
  const trigger = triggers.find((step) => step.key === triggerKey);
  const action = actions.find((step) => step.key === actionKey);
  const triggerForm = useMemo(() => (trigger ? prepareSchema(trigger.configSchema) : undefined), [trigger]);
  const actionForm = useMemo(() => (action ? prepareSchema(action.configSchema) : undefined), [action]);
  const offered = useMemo(() => (trigger ? triggerFields(trigger.outputSchema) : []), [trigger]);

  const issuesUnder = (...prefix: string[]) => issuesAt(issues, prefix);
  const triggerErrors: ErrorSchema | undefined = useMemo(
    () => (issues.length ? errorSchemaOf(issuesAt(issues, ['trigger', 'config'])) : undefined),
    [issues],
  );
  const actionErrors: ErrorSchema | undefined = useMemo(
    () => (issues.length ? errorSchemaOf(issuesAt(issues, ['action', 'config'])) : undefined),
    [issues],
  );
  const fieldError = (id: string, ...prefix: string[]) => {
    const messages = issuesUnder(...prefix)
      .filter((issue) => issue.path.length === 0)
      .map((issue) => issue.message);
    return messages.length > 0 ? (
      <p className="field-error" id={id}>
        {messages.join('; ')}
      </p>
    ) : null;
  };

  /** Remembers the action's text field the user was in, so a trigger field can be inserted at its caret. */
  const rememberField = (event: FocusEvent<HTMLFieldSetElement>) => {
    const element = event.target;
    if (!(element instanceof HTMLInputElement || element instanceof HTMLTextAreaElement)) return;
    const key = element.id.startsWith('action_') ? element.id.slice('action_'.length) : '';
    if (key && !key.includes('_')) lastTemplateField.current = { key, element };
  };

  const insertField = (field: string) => {
    const target = lastTemplateField.current;
    const reference = `{{${field}}}`;
    if (!target) return;
    const { key, element } = target;
    const current = element.value;
    const start = element.selectionStart ?? current.length;
    const end = element.selectionEnd ?? current.length;
    const next = current.slice(0, start) + reference + current.slice(end);
    setActionConfig((config: unknown) => ({
      ...(typeof config === 'object' && config ? config : {}),
      [key]: next,
    }));
    requestAnimationFrame(() => {
      element.focus();
      element.setSelectionRange(start + reference.length, start + reference.length);
    });
  };

  const credentialPicker = (step: Step | undefined, value: string, set: (value: string) => void) => {
    if (step?.provider.auth.type !== 'oauth2') return null;
    const id = `${step.kind}-credential`;
    const accounts = credentials.filter((credential) => credential.serviceProvider === step.provider.id);
    return (
      <>
        <label htmlFor={id}>
          {step.provider.name} account for the {step.kind}
        </label>
        <select id={id} required value={value} onChange={(event) => set(event.target.value)}>
          <option value="">Choose an account</option>
          {accounts.map((credential) => (
            <option key={credential.id} value={String(credential.id)}>
              {credential.name}
              {credential.status === 'needs_reconnect' ? ' (needs reconnect)' : ''}
            </option>
          ))}
        </select>
        {accounts.length === 0 && (
          <p className="meta">
            No {step.provider.name} account yet: <Link href="/accounts">connect one</Link>.
          </p>
        )}
        {fieldError(`${id}-error`, step.kind, 'credentialsId')}
      </>
    );
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!trigger || !action || !triggerForm || !actionForm) return;
    setBusy(true);
    setFailure('');
    setIssues([]);
    const { data, error, response } = await apiClient(session.token).POST('/api/workflows', {
      body: {
        name,
        trigger: {
          serviceProvider: trigger.provider.id,
          triggerId: trigger.id,
          config: configFromForm(triggerConfig, triggerForm.jsonFields),
          ...(triggerCredential ? { credentialsId: Number(triggerCredential) } : {}),
        },
        action: {
          serviceProvider: action.provider.id,
          actionId: action.id,
          config: configFromForm(actionConfig, actionForm.jsonFields),
          ...(actionCredential ? { credentialsId: Number(actionCredential) } : {}),
        },
      },
    });
    setBusy(false);
    if (data) {
      setCreated(data);
      return;
    }
    const problem = problemOf(error);
    setIssues(problem?.issues ?? []);
    setFailure(describeFailure(error, response));
  };

  const activate = async () => {
    if (!created) return;
    const { data, error, response } = await apiClient(session.token).POST('/api/workflows/{id}/activate', {
      params: { path: { id: created.id } },
    });
    setActivated(data ? 'active' : describeFailure(error, response));
  };

  if (created)
    return (
      <section>
        <PageHeading>Workflow created</PageHeading>
        <p>
          “{created.name}” is saved, inactive until you activate it.{' '}
          <Link href={`/workflows/${created.id}`}>Open the workflow</Link>
        </p>
        {created.webhook && (
          <div className="panel">
            <CopyField label="Webhook URL" value={created.webhook.url} />
            {created.webhook.secret && (
              <>
                <CopyField label="Signing secret" value={created.webhook.secret} />
                <p className="meta">The signing secret is shown only now: copy it into the sender.</p>
              </>
            )}
          </div>
        )}
        <div className="actions">
          <button type="button" className="primary" onClick={activate} disabled={activated === 'active'}>
            Activate
          </button>
        </div>
        {activated === 'active' && <Notice kind="info">The workflow is active.</Notice>}
        {activated && activated !== 'active' && <Notice kind="error">{activated}</Notice>}
      </section>
    );

  return (
    <section>
      <PageHeading>New workflow</PageHeading>
      {catalog.error && <Notice kind="error">{catalog.error}</Notice>}
      <form onSubmit={submit} noValidate className="workflow-form">
        <label htmlFor="workflow-name">Name</label>
        <input
          id="workflow-name"
          required
          maxLength={255}
          value={name}
          onChange={(event) => setName(event.target.value)}
        />
        {fieldError('workflow-name-error', 'name')}

        <fieldset className="panel">
          <legend>When (trigger)</legend>
          <StepSelect
            kind="trigger"
            steps={triggers}
            value={triggerKey}
            onChange={(key) => {
              setTriggerKey(key);
              setTriggerConfig({});
              setTriggerCredential('');
            }}
          />
          {trigger && <p className="meta">{trigger.description}</p>}
          {credentialPicker(trigger, triggerCredential, setTriggerCredential)}
          {trigger && triggerForm && (
            <>
              <AlternativesLabel prefix="trigger" schema={triggerForm.schema} />
              <Form
                key={trigger.key}
                tagName="div"
                idPrefix="trigger"
                schema={triggerForm.schema}
                uiSchema={triggerForm.uiSchema}
                validator={validator}
                formData={triggerConfig}
                onChange={(change) => setTriggerConfig(change.formData)}
                extraErrors={triggerErrors}
                noValidate
                showErrorList={false}
              />
            </>
          )}
        </fieldset>

        <fieldset className="panel" onFocus={rememberField}>
          <legend>Then (action)</legend>
          <StepSelect
            kind="action"
            steps={actions}
            value={actionKey}
            onChange={(key) => {
              setActionKey(key);
              setActionConfig({});
              setActionCredential('');
            }}
          />
          {action && <p className="meta">{action.description}</p>}
          {credentialPicker(action, actionCredential, setActionCredential)}
          {action && offered.length > 0 && (
            <div className="template-fields">
              <p id="template-help">
                Trigger fields: put the caret in a text field below, then insert one (or type{' '}
                <code>{'{{trigger.…}}'}</code>).
              </p>
              <ul aria-describedby="template-help">
                {offered.map((field) => {
                  const example = trigger && sampleValue(trigger.sampleOutput, field);
                  return (
                    <li key={field}>
                      <button
                        type="button"
                        className="chip"
                        onMouseDown={(event) => event.preventDefault()}
                        onClick={() => insertField(field)}
                        title={example ? `for example: ${example}` : undefined}
                      >
                        {/* The name reads "Insert {{trigger.x}} <sample>", and holds the visible text whole. */}
                        <span className="visually-hidden">Insert </span>
                        {`{{${field}}}`}
                        {example && <span className="chip-sample"> {example}</span>}
                      </button>
                    </li>
                  );
                })}
              </ul>
            </div>
          )}
          {action && actionForm && (
            <>
              <AlternativesLabel prefix="action" schema={actionForm.schema} />
              <Form
                key={action.key}
                tagName="div"
                idPrefix="action"
                schema={actionForm.schema}
                uiSchema={actionForm.uiSchema}
                validator={validator}
                formData={actionConfig}
                onChange={(change) => setActionConfig(change.formData)}
                extraErrors={actionErrors}
                noValidate
                showErrorList={false}
              />
            </>
          )}
        </fieldset>

        {failure && (
          <div role="alert" className="notice error">
            <p>The workflow was not saved: {failure}</p>
            {issues.length > 0 && (
              <ul>
                {issues.map((issue) => (
                  <li key={`${issue.path.join('.')}:${issue.message}`}>
                    <code>{issue.path.join('.') || 'workflow'}</code>: {issue.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <button type="submit" className="primary" disabled={busy || !trigger || !action}>
          Create workflow
        </button>
      </form>
    </section>
  );
}

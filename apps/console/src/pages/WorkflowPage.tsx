import { useCallback, useEffect, useState } from 'react';
import { apiClient, describeFailure, type Execution, type Session, type Workflow } from '../api.js';
import { Link, navigate } from '../router.js';
import { followExecutions } from '../stream.js';
import { CopyField, formatTime, Json, Notice, PageHeading, StatusBadge } from '../ui.js';

/** One workflow and its runs, kept live over the execution stream. */
export function WorkflowPage({ session, id }: { session: Session; id: number }) {
  const [workflow, setWorkflow] = useState<Workflow | undefined>();
  const [runs, setRuns] = useState<Execution[]>([]);
  const [streamState, setStreamState] = useState<'connecting' | 'live' | 'reconnecting'>('connecting');
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | undefined>();
  const client = apiClient(session.token);

  const loadWorkflow = useCallback(async () => {
    const { data, error, response } = await apiClient(session.token).GET('/api/workflows/{id}', {
      params: { path: { id } },
    });
    if (data) setWorkflow(data);
    else setMessage({ kind: 'error', text: describeFailure(error, response) });
  }, [session.token, id]);

  useEffect(() => {
    void loadWorkflow();
    const merge = (incoming: Execution[]) =>
      setRuns((current) => {
        const byId = new Map(current.map((run) => [run.id, run]));
        for (const run of incoming) byId.set(run.id, run);
        return [...byId.values()].sort((a, b) => b.id - a.id).slice(0, 100);
      });
    const stop = new AbortController();
    // The stream first, then the page: a run written in between arrives by one or the other.
    void followExecutions(
      session.token,
      id,
      {
        onExecution: (run) => {
          merge([run]);
          // Its last run changed with it.
          void loadWorkflow();
        },
        onState: setStreamState,
      },
      stop.signal,
    );
    void apiClient(session.token)
      .GET('/api/workflows/{id}/executions', { params: { path: { id }, query: { limit: 50 } } })
      .then(({ data }) => data && merge(data.items));
    return () => stop.abort();
  }, [session.token, id, loadWorkflow]);

  const setActive = async (active: boolean) => {
    const byId = { params: { path: { id } } };
    const { data, error, response } = active
      ? await client.POST('/api/workflows/{id}/activate', byId)
      : await client.POST('/api/workflows/{id}/deactivate', byId);
    if (data) {
      setWorkflow(data);
      setMessage({ kind: 'info', text: active ? 'Active: it runs on every event.' : 'Inactive.' });
    } else setMessage({ kind: 'error', text: describeFailure(error, response) });
  };

  const runNow = async () => {
    const { data, error, response } = await client.POST('/api/workflows/{id}/run', {
      params: { path: { id } },
      body: {},
    });
    setMessage(
      data
        ? { kind: 'info', text: `Run ${data.executionId} started.` }
        : { kind: 'error', text: describeFailure(error, response) },
    );
  };

  const remove = async () => {
    if (!workflow || !window.confirm(`Delete the workflow “${workflow.name}” and its runs?`)) return;
    const { error, response } = await client.DELETE('/api/workflows/{id}', { params: { path: { id } } });
    if (response.ok) navigate('/workflows');
    else setMessage({ kind: 'error', text: describeFailure(error, response) });
  };

  if (!workflow)
    return (
      <section>
        <PageHeading>Workflow</PageHeading>
        {message ? <Notice kind={message.kind}>{message.text}</Notice> : <p>Loading…</p>}
      </section>
    );

  return (
    <section>
      <PageHeading>{workflow.name}</PageHeading>
      <p className="meta">
        <StatusBadge status={workflow.isActive ? 'active' : 'inactive'} /> {workflow.trigger.serviceProvider}.
        {workflow.trigger.triggerId} → {workflow.action.serviceProvider}.{workflow.action.actionId} · last run{' '}
        {formatTime(workflow.lastRun)}
      </p>
      <div className="actions">
        <button type="button" className="primary" onClick={() => setActive(!workflow.isActive)}>
          {workflow.isActive ? 'Deactivate' : 'Activate'}
        </button>
        <button type="button" onClick={runNow}>
          Run now
        </button>
        <button type="button" className="danger" onClick={remove}>
          Delete
        </button>
      </div>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      {workflow.webhook && <CopyField label="Webhook URL" value={workflow.webhook.url} />}
      <details>
        <summary>Configuration</summary>
        <h2>Trigger config</h2>
        <Json label="Trigger config" value={workflow.trigger.config} />
        <h2>Action config</h2>
        <Json label="Action config" value={workflow.action.config} />
      </details>
      <h2 id="runs-heading">
        Runs{' '}
        <span className={`live live-${streamState}`}>{streamState === 'live' ? 'live' : streamState}</span>
      </h2>
      {runs.length === 0 ? (
        <p>No runs yet.</p>
      ) : (
        <ul className="cards runs" aria-labelledby="runs-heading" aria-live="polite">
          {runs.map((run) => (
            <li key={run.id} className="card run" data-run-id={run.id}>
              <Link href={`/runs/${run.id}`}>Run {run.id}</Link> <StatusBadge status={run.status} />
              <span className="meta">
                {' '}
                {formatTime(run.startedAt)}
                {run.rerunOf ? ` · re-run of ${run.rerunOf}` : ''}
                {run.attempts > 1 ? ` · ${run.attempts} attempts` : ''}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { apiClient, describeFailure, type Execution, type Session } from '../api.js';
import { Link, navigate } from '../router.js';
import { formatTime, Json, Notice, PageHeading, StatusBadge } from '../ui.js';

/** One run: what triggered it, what the action answered or why it failed; re-run and cancel. */
export function ExecutionPage({ session, id }: { session: Session; id: number }) {
  const [run, setRun] = useState<Execution | undefined>();
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | undefined>();
  const [mode, setMode] = useState<'original' | 'current'>('original');
  const [reason, setReason] = useState('');
  const client = apiClient(session.token);

  const load = useCallback(async () => {
    const { data, error, response } = await apiClient(session.token).GET('/api/executions/{id}', {
      params: { path: { id } },
    });
    if (data) setRun(data);
    else setMessage({ kind: 'error', text: describeFailure(error, response) });
    return data;
  }, [session.token, id]);

  // A running execution is read again every second until it ends.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const tick = async () => {
      const current = await load();
      if (!stopped && current?.status === 'running') timer = setTimeout(tick, 1_000);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [load]);

  const rerun = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error, response } = await client.POST('/api/executions/{id}/rerun', {
      params: { path: { id } },
      body: { mode },
    });
    if (data) navigate(`/runs/${data.executionId}`);
    else setMessage({ kind: 'error', text: describeFailure(error, response) });
  };

  const cancel = async (event: FormEvent) => {
    event.preventDefault();
    const { data, error, response } = await client.POST('/api/executions/{id}/cancel', {
      params: { path: { id } },
      body: reason ? { reason } : {},
    });
    setMessage(
      data
        ? { kind: 'info', text: 'Cancellation requested.' }
        : { kind: 'error', text: describeFailure(error, response) },
    );
    await load();
  };

  if (!run)
    return (
      <section>
        <PageHeading>Run {id}</PageHeading>
        {message ? <Notice kind={message.kind}>{message.text}</Notice> : <p>Loading…</p>}
      </section>
    );

  return (
    <section>
      <PageHeading>Run {run.id}</PageHeading>
      <p className="meta">
        <Link href={`/workflows/${run.workflowId}`}>Back to the workflow</Link>
      </p>
      <dl className="facts">
        <dt>Status</dt>
        <dd>
          <span role="status">
            <StatusBadge status={run.status} />
          </span>
        </dd>
        <dt>Started</dt>
        <dd>{formatTime(run.timings.acceptedAt)}</dd>
        <dt>Finished</dt>
        <dd>{formatTime(run.timings.finishedAt)}</dd>
        <dt>Duration</dt>
        <dd>{run.timings.totalMs === null ? '—' : `${run.timings.totalMs} ms`}</dd>
        <dt>Attempts</dt>
        <dd>{run.attempts}</dd>
        {run.rerunOf !== null && (
          <>
            <dt>Re-run of</dt>
            <dd>
              <Link href={`/runs/${run.rerunOf}`}>Run {run.rerunOf}</Link>
            </dd>
          </>
        )}
        <dt>Temporal</dt>
        <dd>
          {run.temporalUiUrl ? (
            <a href={run.temporalUiUrl} target="_blank" rel="noreferrer">
              Open in the Temporal UI
            </a>
          ) : (
            <code>{run.temporalWorkflowId}</code>
          )}
        </dd>
      </dl>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      {run.errorMessage && (
        <>
          <h2>Error</h2>
          <p className="error-text">{run.errorMessage}</p>
        </>
      )}
      {run.lastFailure && (
        <p className="meta">
          Last failed attempt ({formatTime(run.lastFailure.at)}): {run.lastFailure.message}
        </p>
      )}
      <h2>Trigger data</h2>
      <Json label="Trigger data" value={run.triggerData} />
      <h2>Action result</h2>
      <Json label="Action result" value={run.actionResult} />
      <div className="split">
        <form onSubmit={rerun} className="panel">
          <h2>Re-run</h2>
          <fieldset>
            <legend>Run with</legend>
            <label className="inline">
              <input
                type="radio"
                name="mode"
                value="original"
                checked={mode === 'original'}
                onChange={() => setMode('original')}
              />{' '}
              the configuration it ran with
            </label>
            <label className="inline">
              <input
                type="radio"
                name="mode"
                value="current"
                checked={mode === 'current'}
                onChange={() => setMode('current')}
              />{' '}
              the workflow as it is now
            </label>
          </fieldset>
          <button type="submit" className="primary">
            Re-run
          </button>
        </form>
        {run.status === 'running' && (
          <form onSubmit={cancel} className="panel">
            <h2>Cancel</h2>
            <label htmlFor="cancel-reason">Reason (optional)</label>
            <input
              id="cancel-reason"
              value={reason}
              maxLength={500}
              onChange={(e) => setReason(e.target.value)}
            />
            <button type="submit" className="danger">
              Cancel run
            </button>
          </form>
        )}
      </div>
    </section>
  );
}

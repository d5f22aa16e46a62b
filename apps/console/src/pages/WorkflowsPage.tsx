import { useCallback, useEffect, useState } from 'react';
import { allPages, apiClient, describeFailure, type Session, type Workflow } from '../api.js';
import { Link } from '../router.js';
import { formatTime, Notice, PageHeading, StatusBadge } from '../ui.js';

export function WorkflowsPage({ session }: { session: Session }) {
  const [workflows, setWorkflows] = useState<Workflow[] | undefined>();
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | undefined>();
  const client = apiClient(session.token);

  const load = useCallback(async () => {
    const listed = await allPages((cursor) =>
      apiClient(session.token).GET('/api/workflows', {
        params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } },
      }),
    );
    if ('failure' in listed) setMessage({ kind: 'error', text: listed.failure });
    else setWorkflows(listed.items);
  }, [session.token]);

  useEffect(() => {
    void load();
  }, [load]);

  const setActive = async (workflow: Workflow, active: boolean) => {
    const byId = { params: { path: { id: workflow.id } } };
    const { data, error, response } = active
      ? await client.POST('/api/workflows/{id}/activate', byId)
      : await client.POST('/api/workflows/{id}/deactivate', byId);
    setMessage(
      data
        ? { kind: 'info', text: `${workflow.name} is ${active ? 'active' : 'inactive'}.` }
        : { kind: 'error', text: describeFailure(error, response) },
    );
    await load();
  };

  const remove = async (workflow: Workflow) => {
    if (!window.confirm(`Delete the workflow “${workflow.name}” and its runs?`)) return;
    const { error, response } = await client.DELETE('/api/workflows/{id}', {
      params: { path: { id: workflow.id } },
    });
    setMessage(
      response.ok
        ? { kind: 'info', text: `${workflow.name} was deleted.` }
        : { kind: 'error', text: describeFailure(error, response) },
    );
    await load();
  };

  return (
    <section>
      <PageHeading>Workflows</PageHeading>
      <p>
        <Link className="button primary" href="/workflows/new">
          New workflow
        </Link>
      </p>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      {workflows === undefined ? (
        <p>Loading…</p>
      ) : workflows.length === 0 ? (
        <p>No workflows yet.</p>
      ) : (
        <ul className="cards">
          {workflows.map((workflow) => (
            <li key={workflow.id} className="card">
              <h2>
                <Link href={`/workflows/${workflow.id}`}>{workflow.name}</Link>
              </h2>
              <p className="meta">
                <StatusBadge status={workflow.isActive ? 'active' : 'inactive'} />{' '}
                {workflow.trigger.serviceProvider}.{workflow.trigger.triggerId} →{' '}
                {workflow.action.serviceProvider}.{workflow.action.actionId}
              </p>
              <p className="meta">Last run: {formatTime(workflow.lastRun)}</p>
              <div className="actions">
                <button
                  type="button"
                  onClick={() => setActive(workflow, !workflow.isActive)}
                  aria-label={`${workflow.isActive ? 'Deactivate' : 'Activate'} ${workflow.name}`}
                >
                  {workflow.isActive ? 'Deactivate' : 'Activate'}
                </button>
                <button
                  type="button"
                  className="danger"
                  onClick={() => remove(workflow)}
                  aria-label={`Delete ${workflow.name}`}
                >
                  Delete
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

import { useCallback, useEffect, useRef, useState } from 'react';
import { allPages, apiClient, type Credential, describeFailure, type Session } from '../api.js';
import { useCatalog } from '../catalog.js';
import { consumeOAuthLanding } from '../oauth-landing.js';
import { Notice, PageHeading, StatusBadge } from '../ui.js';

const CALLBACK_ERRORS: Record<string, string> = {
  access_denied: 'You declined the access at the provider: nothing was connected.',
  state_expired: 'The connection took too long: start again.',
  state_invalid: 'That connection link is not valid (used already, or not from this console): start again.',
  state_missing: 'The provider sent back no state: start again.',
  code_missing: 'The provider sent back no code: start again.',
};

/** Connected accounts: connect through OAuth (and finish the flow when the callback lands here), test, reconnect, delete. */
export function AccountsPage({ session }: { session: Session }) {
  const catalog = useCatalog(session.token);
  const [credentials, setCredentials] = useState<Credential[] | undefined>();
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | undefined>();
  const [busy, setBusy] = useState(false);
  const completing = useRef(false);
  const client = apiClient(session.token);

  const load = useCallback(async () => {
    const listed = await allPages((cursor) =>
      apiClient(session.token).GET('/api/credentials', {
        params: { query: { limit: 100, ...(cursor ? { cursor } : {}) } },
      }),
    );
    if ('failure' in listed) setMessage({ kind: 'error', text: listed.failure });
    else setCredentials(listed.items);
  }, [session.token]);

  useEffect(() => {
    const finish = async () => {
      if (completing.current) return;
      completing.current = true;
      const landing = consumeOAuthLanding();
      if (landing?.status === 'error')
        setMessage({
          kind: 'error',
          text: CALLBACK_ERRORS[landing.code] ?? `The connection failed (${landing.code}).`,
        });
      if (landing?.status === 'pending') {
        setMessage({ kind: 'info', text: 'Finishing the connection…' });
        const { data, error, response } = await apiClient(session.token).POST(
          '/api/oauth2-credential/complete',
          {
            body: { handle: landing.handle },
          },
        );
        setMessage(
          data
            ? { kind: 'info', text: 'Account connected.' }
            : {
                kind: 'error',
                text: `The connection was not completed: ${describeFailure(error, response)}`,
              },
        );
      }
      await load();
    };
    void finish();
  }, [session.token, load]);

  /** Starts the flow at the provider; its callback brings the browser back to this page. */
  const connect = async (provider: string, credentialId?: number) => {
    setBusy(true);
    const { data, error, response } = await client.GET('/api/oauth2-credential/auth', {
      params: {
        query: {
          provider,
          redirectUrl: `${location.origin}/accounts`,
          ...(credentialId !== undefined ? { credentialId } : {}),
        },
      },
      headers: { accept: 'application/json' },
    });
    if (data) {
      location.assign(data.authorizationUrl);
      return;
    }
    setBusy(false);
    setMessage({ kind: 'error', text: describeFailure(error, response) });
  };

  const test = async (credential: Credential) => {
    const { data, error, response } = await client.POST('/api/credentials/{id}/test', {
      params: { path: { id: credential.id } },
    });
    if (data)
      setMessage(
        data.ok
          ? { kind: 'info', text: `${credential.name} works${data.account ? ` (${data.account})` : ''}.` }
          : { kind: 'error', text: `${credential.name} does not work: ${data.reason ?? 'refused'}.` },
      );
    else setMessage({ kind: 'error', text: describeFailure(error, response) });
    await load();
  };

  const remove = async (credential: Credential) => {
    if (!window.confirm(`Delete ${credential.name}? Workflows that use it are deactivated.`)) return;
    const { error, response } = await client.DELETE('/api/credentials/{id}', {
      params: { path: { id: credential.id } },
    });
    setMessage(
      response.ok
        ? { kind: 'info', text: `${credential.name} was deleted.` }
        : { kind: 'error', text: describeFailure(error, response) },
    );
    await load();
  };

  const oauthProviders = catalog.data?.providers.filter((provider) => provider.auth.type === 'oauth2') ?? [];
  const providerName = (id: string) =>
    catalog.data?.providers.find((provider) => provider.id === id)?.name ?? id;

  return (
    <section>
      <PageHeading>Connected accounts</PageHeading>
      {message && <Notice kind={message.kind}>{message.text}</Notice>}
      <h2>Connect an account</h2>
      <div className="actions">
        {oauthProviders.map((provider) => (
          <button
            key={provider.id}
            type="button"
            className="primary"
            disabled={busy}
            onClick={() => connect(provider.id)}
          >
            Connect {provider.name}
          </button>
        ))}
      </div>
      <h2>Your accounts</h2>
      {credentials === undefined ? (
        <p>Loading…</p>
      ) : credentials.length === 0 ? (
        <p>No accounts connected yet.</p>
      ) : (
        <ul className="cards">
          {credentials.map((credential) => (
            <li key={credential.id} className="card" data-credential-id={credential.id}>
              <h3>{credential.name}</h3>
              <p className="meta">
                {providerName(credential.serviceProvider)} · <StatusBadge status={credential.status} />
              </p>
              <div className="actions">
                <button type="button" onClick={() => test(credential)} aria-label={`Test ${credential.name}`}>
                  Test
                </button>
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => connect(credential.serviceProvider, credential.id)}
                  aria-label={`Reconnect ${credential.name}`}
                  className={credential.status === 'needs_reconnect' ? 'primary' : ''}
                >
                  Reconnect
                </button>
                <button
                  type="button"
                  className="danger"
                  onClick={() => remove(credential)}
                  aria-label={`Delete ${credential.name}`}
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

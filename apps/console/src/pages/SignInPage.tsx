import { type FormEvent, useState } from 'react';
import { apiClient, describeFailure, type Session } from '../api.js';
import { Link } from '../router.js';
import { Notice, PageHeading } from '../ui.js';

export function SignInPage({
  mode,
  onSignedIn,
}: {
  mode: 'sign-in' | 'sign-up';
  onSignedIn(session: Session): void;
}) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const signingUp = mode === 'sign-up';

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    const body = { email, password };
    const client = apiClient();
    const {
      data,
      error: failure,
      response,
    } = signingUp
      ? await client.POST('/api/auth/register', { body })
      : await client.POST('/api/auth/login', { body });
    setBusy(false);
    if (data) onSignedIn({ token: data.token, user: data.user });
    else setError(describeFailure(failure, response));
  };

  return (
    <section className="narrow">
      <PageHeading>{signingUp ? 'Create your account' : 'Sign in'}</PageHeading>
      <form onSubmit={submit}>
        <label htmlFor="email">Email</label>
        <input
          id="email"
          type="email"
          autoComplete="email"
          required
          value={email}
          onChange={(event) => setEmail(event.target.value)}
        />
        <label htmlFor="password">Password</label>
        <input
          id="password"
          type="password"
          autoComplete={signingUp ? 'new-password' : 'current-password'}
          required
          minLength={signingUp ? 8 : 1}
          value={password}
          onChange={(event) => setPassword(event.target.value)}
        />
        {error && <Notice kind="error">{error}</Notice>}
        <button type="submit" className="primary" disabled={busy}>
          {signingUp ? 'Sign up' : 'Sign in'}
        </button>
      </form>
      <p>
        {signingUp ? (
          <>
            Have an account? <Link href="/sign-in">Sign in</Link>
          </>
        ) : (
          <>
            New here? <Link href="/sign-up">Create an account</Link>
          </>
        )}
      </p>
    </section>
  );
}

import { lazy, Suspense, useCallback, useEffect, useState } from 'react';
import { apiClient, loadSession, type Session, saveSession } from './api.js';
import { AccountsPage } from './pages/AccountsPage.js';
import { ExecutionPage } from './pages/ExecutionPage.js';
import { SignInPage } from './pages/SignInPage.js';
import { WorkflowPage } from './pages/WorkflowPage.js';
import { WorkflowsPage } from './pages/WorkflowsPage.js';
import { Link, navigate, routeOf, useLocation } from './router.js';
import { PageHeading } from './ui.js';

// The generated forms (@rjsf/core and its JSON Schema validator) are most of the code: loaded on that page only.
const NewWorkflowPage = lazy(() =>
  import('./pages/NewWorkflowPage.js').then((module) => ({ default: module.NewWorkflowPage })),
);

const NAV = [
  { href: '/workflows', label: 'Workflows', pages: ['workflows', 'workflow', 'execution'] },
  { href: '/workflows/new', label: 'New workflow', pages: ['new-workflow'] },
  { href: '/accounts', label: 'Connected accounts', pages: ['accounts'] },
];

export function App() {
  const [session, setSession] = useState<Session | undefined>(loadSession);
  const location = useLocation();
  const route = routeOf(location.pathname);

  const signOut = useCallback(() => {
    saveSession(undefined);
    setSession(undefined);
    navigate('/sign-in');
  }, []);

  // A token the API no longer takes (expired, or another JWT secret) signs out.
  useEffect(() => {
    if (!session) return;
    void apiClient(session.token)
      .GET('/api/me')
      .then(({ response }) => {
        if (response.status === 401) signOut();
      });
  }, [session, signOut]);

  const signIn = (next: Session) => {
    saveSession(next);
    setSession(next);
    if (route.page === 'sign-in' || route.page === 'sign-up') navigate('/workflows', { replace: true });
  };

  if (!session)
    return (
      <>
        <a className="skip" href="#main">
          Skip to content
        </a>
        <header className="top">
          <span className="brand">autoflow</span>
        </header>
        <main id="main">
          <SignInPage
            key={route.page}
            mode={route.page === 'sign-up' ? 'sign-up' : 'sign-in'}
            onSignedIn={signIn}
          />
        </main>
      </>
    );

  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">autoflow</span>
        <nav aria-label="Main">
          <ul className="nav-list">
            {NAV.map((item) => (
              <li key={item.href}>
                <Link href={item.href} aria-current={item.pages.includes(route.page) ? 'page' : undefined}>
                  {item.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span>{session.user.email}</span>
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <Page key={location.pathname} route={route} session={session} />
      </main>
    </>
  );
}

function Page({ route, session }: { route: ReturnType<typeof routeOf>; session: Session }) {
  switch (route.page) {
    case 'sign-in':
    case 'sign-up':
    case 'workflows':
      return <WorkflowsPage session={session} />;
    case 'new-workflow':
      return (
        <Suspense fallback={<p>Loading…</p>}>
          <NewWorkflowPage session={session} />
        </Suspense>
      );
    case 'workflow':
      return <WorkflowPage session={session} id={route.id} />;
    case 'execution':
      return <ExecutionPage session={session} id={route.id} />;
    case 'accounts':
      return <AccountsPage session={session} />;
    case 'not-found':
      return (
        <>
          <PageHeading>Not found</PageHeading>
          <p>
            No page here. <Link href="/workflows">Your workflows</Link>
          </p>
        </>
      );
  }
}

// Where the OAuth callback sends the browser: `?status=pending&handle=…` or `?status=error&code=…`.
// The handle is single-use and short-lived; it leaves the address bar (and so history and referrers) at
// once and waits in sessionStorage until a signed-in accounts page completes the flow.

const LANDING_KEY = 'autoflow.oauth-landing';

export type OAuthLanding = { status: 'pending'; handle: string } | { status: 'error'; code: string };

/** Moves a landing's parameters from the address bar into sessionStorage; true when there was one. */
export function takeOAuthLanding(): boolean {
  const params = new URLSearchParams(location.search);
  const status = params.get('status');
  const handle = params.get('handle');
  const code = params.get('code');
  let landing: OAuthLanding | undefined;
  if (status === 'pending' && handle) landing = { status, handle };
  else if (status === 'error') landing = { status, code: code ?? 'unknown' };
  if (!landing) return false;
  history.replaceState(null, '', location.pathname);
  sessionStorage.setItem(LANDING_KEY, JSON.stringify(landing));
  return true;
}

/** The landing waiting to be completed, removed as it is read (a handle is used once). */
export function consumeOAuthLanding(): OAuthLanding | undefined {
  const raw = sessionStorage.getItem(LANDING_KEY);
  sessionStorage.removeItem(LANDING_KEY);
  if (!raw) return undefined;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const status = 'status' in parsed ? parsed.status : undefined;
    if (status === 'pending' && 'handle' in parsed && typeof parsed.handle === 'string')
      return { status, handle: parsed.handle };
    if (status === 'error' && 'code' in parsed && typeof parsed.code === 'string')
      return { status, code: parsed.code };
  } catch {
    // nothing usable
  }
  return undefined;
}

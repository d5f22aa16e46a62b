import { type ApiClient, createApiClient, type operations, type Problem } from '@autoflow/client/browser';

// The console's only way out: the typed client on its own origin (Caddy serves the app and /api/…
// together), so the bundle names no host. The token lives in memory and in sessionStorage (this tab only).

type Json<Op extends keyof operations, Status extends number> = operations[Op]['responses'] extends {
  [S in Status]: { content: { 'application/json': infer Body } };
}
  ? Body
  : never;

export type Workflow = Json<'getWorkflow', 200>;
export type Execution = Json<'getExecution', 200>;
export type Credential = Json<'listCredentials', 200>['items'][number];
export type Catalog = Json<'getCatalog', 200>;
export type CatalogProvider = Catalog['providers'][number];
export type CatalogTrigger = CatalogProvider['triggers'][number];
export type CatalogAction = CatalogProvider['actions'][number];
export type User = Json<'getMe', 200>;
export type { Problem };

export interface Session {
  token: string;
  user: User;
}

const SESSION_KEY = 'autoflow.session';

export function loadSession(): Session | undefined {
  try {
    const parsed: unknown = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null');
    if (isRecord(parsed) && typeof parsed.token === 'string' && isRecord(parsed.user)) {
      const { id, email, name } = parsed.user;
      if (typeof id === 'number' && typeof email === 'string')
        return { token: parsed.token, user: { id, email, name: typeof name === 'string' ? name : null } };
    }
  } catch {
    // A damaged entry is the same as none.
  }
  return undefined;
}

export function saveSession(session: Session | undefined): void {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** The typed client on this page's origin, as the signed-in user when a token is given. */
export function apiClient(token?: string): ApiClient {
  return createApiClient({ baseUrl: '', ...(token ? { token } : {}) });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The problem+json an error answer carries, when it is one. */
export function problemOf(error: unknown): Problem | undefined {
  if (!isRecord(error) || typeof error.code !== 'string' || typeof error.detail !== 'string')
    return undefined;
  const issues = Array.isArray(error.issues)
    ? error.issues.flatMap((issue) =>
        isRecord(issue) && Array.isArray(issue.path) && typeof issue.message === 'string'
          ? [
              {
                path: issue.path.filter(
                  (part): part is string | number => typeof part === 'string' || typeof part === 'number',
                ),
                message: issue.message,
              },
            ]
          : [],
      )
    : undefined;
  return {
    type: typeof error.type === 'string' ? error.type : 'about:blank',
    title: typeof error.title === 'string' ? error.title : '',
    status: typeof error.status === 'number' ? error.status : 0,
    detail: error.detail,
    code: error.code,
    ...(issues ? { issues } : {}),
  };
}

/** One line for a failed call: the problem's detail and code, or the bare status. */
export function describeFailure(error: unknown, response: Response): string {
  const problem = problemOf(error);
  return problem ? `${problem.detail} (${problem.code})` : `the server answered ${response.status}`;
}

/** One page of a cursor-paginated list, as the typed client answers it. */
interface PageAnswer<Item> {
  data?: { items: Item[]; nextCursor: string | null };
  error?: unknown;
  response: Response;
}

/** Every item of a paginated list, page after page; the first failure's description instead of a partial list. */
export async function allPages<Item>(
  page: (cursor: string | undefined) => Promise<PageAnswer<Item>>,
): Promise<{ items: Item[] } | { failure: string }> {
  const items: Item[] = [];
  for (let cursor: string | undefined; ; ) {
    const { data, error, response } = await page(cursor);
    if (!data) return { failure: describeFailure(error, response) };
    items.push(...data.items);
    if (!data.nextCursor) return { items };
    cursor = data.nextCursor;
  }
}

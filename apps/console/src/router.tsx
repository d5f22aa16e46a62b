import { type AnchorHTMLAttributes, type MouseEvent, useEffect, useState } from 'react';

// History routing over a handful of pages; Caddy answers every non-API path with index.html.

const NAVIGATED = 'autoflow:navigated';

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATED));
}

export function useLocation(): URL {
  const [href, setHref] = useState(() => location.href);
  useEffect(() => {
    const update = () => setHref(location.href);
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATED, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATED, update);
    };
  }, []);
  return new URL(href);
}

/** A plain link that navigates inside the app (a modified click still opens a new tab). */
export function Link({ href, onClick, ...rest }: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const follow = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
      return;
    event.preventDefault();
    navigate(href);
  };
  return <a href={href} onClick={follow} {...rest} />;
}

export type Route =
  | { page: 'sign-in' }
  | { page: 'sign-up' }
  | { page: 'workflows' }
  | { page: 'new-workflow' }
  | { page: 'workflow'; id: number }
  | { page: 'execution'; id: number }
  | { page: 'accounts' }
  | { page: 'not-found' };

export function routeOf(pathname: string): Route {
  const parts = pathname.split('/').filter(Boolean);
  const id = Number(parts[1]);
  const [first] = parts;
  if (parts.length === 0) return { page: 'workflows' };
  if (first === 'sign-in' && parts.length === 1) return { page: 'sign-in' };
  if (first === 'sign-up' && parts.length === 1) return { page: 'sign-up' };
  if (first === 'accounts' && parts.length === 1) return { page: 'accounts' };
  if (first === 'workflows' && parts.length === 1) return { page: 'workflows' };
  if (first === 'workflows' && parts[1] === 'new' && parts.length === 2) return { page: 'new-workflow' };
  if (first === 'workflows' && parts.length === 2 && Number.isInteger(id) && id > 0)
    return { page: 'workflow', id };
  if (first === 'runs' && parts.length === 2 && Number.isInteger(id) && id > 0)
    return { page: 'execution', id };
  return { page: 'not-found' };
}

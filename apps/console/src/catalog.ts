import { useEffect, useState } from 'react';
import { apiClient, type Catalog, describeFailure } from './api.js';

let cached: Catalog | undefined;

/** GET /api/catalog once per page load: it changes only when the server is redeployed. */
export function useCatalog(token: string): { data?: Catalog; error?: string } {
  const [state, setState] = useState<{ data?: Catalog; error?: string }>(cached ? { data: cached } : {});
  useEffect(() => {
    if (cached) return;
    void apiClient(token)
      .GET('/api/catalog')
      .then(({ data, error, response }) => {
        if (data) cached = data;
        setState(data ? { data } : { error: describeFailure(error, response) });
      });
  }, [token]);
  return state;
}

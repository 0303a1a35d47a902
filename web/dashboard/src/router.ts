import { useEffect, useState } from 'react';

export type Route =
  | { name: 'list' }
  | { name: 'project'; projectId: string }
  | { name: 'jobs' }
  | { name: 'overview' }
  | { name: 'policy' }
  | { name: 'not-found'; hash: string };

/** Hash routes: `#/`, `#/projects/<id>`, `#/jobs`, `#/overview`, `#/policy`. */
export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '').split('?')[0] ?? '';
  if (path === '' || path === '/') return { name: 'list' };
  if (path === '/jobs' || path === '/jobs/') return { name: 'jobs' };
  if (path === '/overview' || path === '/overview/') return { name: 'overview' };
  if (path === '/policy' || path === '/policy/') return { name: 'policy' };
  const m = /^\/projects\/([^/]+)\/?$/.exec(path);
  if (m) {
    try {
      return { name: 'project', projectId: decodeURIComponent(m[1]!) };
    } catch {
      return { name: 'not-found', hash };
    }
  }
  return { name: 'not-found', hash };
}

export const hrefs = {
  list: () => '#/',
  project: (projectId: string) => `#/projects/${encodeURIComponent(projectId)}`,
  jobs: () => '#/jobs',
  overview: () => '#/overview',
  policy: () => '#/policy',
};

export function useHashRoute(): Route {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const onChange = () => setHash(window.location.hash);
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return parseHash(hash);
}

export function navigate(href: string) {
  window.location.hash = href.replace(/^#/, '');
}

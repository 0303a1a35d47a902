import { useEffect, useState, useSyncExternalStore } from 'react';
import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import type { SandboxClient } from '@sandboxd/client';
import { SandboxClientProvider, type LiveOptions } from '@sandboxd/react';
import type { AuthStore } from './auth';
import { DeliveryBanner } from './components/DeliveryBanner';
import { SignInForm } from './components/SignInForm';
import { JobsPage } from './pages/JobsPage';
import { OverviewPage } from './pages/OverviewPage';
import { PolicyPage } from './pages/PolicyPage';
import { ProjectPage } from './pages/ProjectPage';
import { SandboxListPage } from './pages/SandboxListPage';
import { hrefs, useHashRoute, type Route } from './router';

export interface AppProps {
  client: SandboxClient;
  queryClient: QueryClient;
  auth: AuthStore;
  /** Sign-in from a `#token=` (or old `?token=`) link in progress (pages wait for it), or null. */
  startup?: Promise<void> | null;
  /** Live-subscription settings (tests inject EventSource/document). */
  live?: LiveOptions;
}

export function App({ client, queryClient, auth, startup = null, live }: AppProps) {
  return (
    <QueryClientProvider client={queryClient}>
      <SandboxClientProvider client={client} {...(live ? { live } : {})}>
        <Shell client={client} queryClient={queryClient} auth={auth} startup={startup} />
      </SandboxClientProvider>
    </QueryClientProvider>
  );
}

function Shell({
  client,
  queryClient,
  auth,
  startup,
}: {
  client: SandboxClient;
  queryClient: QueryClient;
  auth: AuthStore;
  startup: Promise<void> | null;
}) {
  const route = useHashRoute();
  const authState = useSyncExternalStore(auth.subscribe, auth.get, auth.get);
  const [starting, setStarting] = useState(startup !== null);

  useEffect(() => {
    if (!startup) return;
    let active = true;
    void startup.finally(() => {
      if (active) setStarting(false);
    });
    return () => {
      active = false;
    };
  }, [startup]);

  const signOut = async () => {
    try {
      await client.signOut();
    } finally {
      queryClient.clear();
      auth.require('Signed out.');
    }
  };

  let content;
  if (starting) content = <p className="muted center">Signing in…</p>;
  else if (authState.required) content = <SignInForm auth={auth} message={authState.message} />;
  else
    content = (
      <>
        <DeliveryBanner />
        <Page route={route} />
      </>
    );

  return (
    <div className="app">
      <header className="topbar">
        <a href={hrefs.list()} className="brand">
          sandboxd
        </a>
        <nav>
          <a href={hrefs.list()} className={route.name === 'list' || route.name === 'project' ? 'active' : ''}>
            Sandboxes
          </a>
          <a href={hrefs.overview()} className={route.name === 'overview' ? 'active' : ''}>
            Overview
          </a>
          <a href={hrefs.policy()} className={route.name === 'policy' ? 'active' : ''}>
            Policy
          </a>
          <a href={hrefs.jobs()} className={route.name === 'jobs' ? 'active' : ''}>
            Jobs
          </a>
        </nav>
        <div className="spacer" />
        {!authState.required && !starting && (
          <button type="button" className="link" data-testid="signout-button" onClick={() => void signOut()}>
            Sign out
          </button>
        )}
      </header>
      <main>{content}</main>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.name) {
    case 'list':
      return <SandboxListPage />;
    case 'project':
      return <ProjectPage key={route.projectId} projectId={route.projectId} />;
    case 'jobs':
      return <JobsPage />;
    case 'overview':
      return <OverviewPage />;
    case 'policy':
      return <PolicyPage />;
    default:
      return (
        <section className="card">
          <h1>Not found</h1>
          <p>
            No page at <code>{route.hash}</code>. <a href={hrefs.list()}>Back to the sandboxes</a>.
          </p>
        </section>
      );
  }
}

import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { QueryClient } from '@tanstack/react-query';
import { createClient, isApiError } from '@sandboxd/client';
import { App } from './App';
import { createAuthStore, signInFromUrl } from './auth';
import './styles.css';

const auth = createAuthStore();

// Same origin, session cookie: no build-time configuration.
const client = createClient({
  onError: (error) => {
    if (error.status === 401) auth.require('Your session has expired or you are not signed in.');
  },
});

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // 4xx answers are final; retry network hiccups and 5xx a couple of times.
      retry: (failures, error) =>
        failures < 2 && !(isApiError(error) && error.status >= 400 && error.status < 500),
    },
  },
});

// `#token=…` (the link sandboxd prints; `?token=…` from older links): leave the address bar at
// once, then sign in.
const startup = signInFromUrl(client, auth);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App client={client} queryClient={queryClient} auth={auth} startup={startup} />
  </StrictMode>,
);

import { defineConfig } from 'vitest/config';

// `npm test` here runs every workspace's tests once (each workspace has its own config).
export default defineConfig({
  test: {
    projects: ['client', 'react', 'dashboard'],
  },
});

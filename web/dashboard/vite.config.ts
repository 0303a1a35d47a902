import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// No build-time configuration: the built app talks to the API on its own origin (sandboxd serves
// it). `npm run dev` proxies /api to a local sandboxd (SANDBOXD_URL, default 127.0.0.1:8080).
export default defineConfig({
  base: './',
  plugins: [react()],
  resolve: {
    alias: {
      // Use the workspace sources directly: no need to build client/react first.
      '@sandboxd/client': src('../client/src/index.ts'),
      '@sandboxd/react': src('../react/src/index.ts'),
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
  },
  server: {
    proxy: {
      '/api': { target: process.env.SANDBOXD_URL ?? 'http://127.0.0.1:8080' },
    },
  },
});
